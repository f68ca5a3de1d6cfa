// The activation functions of compute/ops/activation.h, and their derivatives.
// Kinds: 0 ReLU, 1 leaky ReLU, 2 tanh, 3 sigmoid, 4 GELU (exact, with erf).

// erf, which GLSL lacks: 1 − t·exp(−x² + P(t)) with t = 1/(1 + |x|/2), good
// to 1.2e-7 (the erfc approximation of Numerical Recipes).
float erf_approx (float x)
{
  float z = abs (x);
  float t = 1.0 / (1.0 + 0.5 * z);
  float r = t * exp (-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418
            + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587
            + t * (-0.82215223 + t * 0.17087277)))))))));
  return x >= 0.0 ? 1.0 - r : r - 1.0;
}

float activation (uint kind, float slope, float x)
{
  if (kind == 0)
    return max (x, 0.0);
  if (kind == 1)
    return x > 0.0 ? x : slope * x;
  if (kind == 2)
    return tanh (x);
  if (kind == 3)
    return 1.0 / (1.0 + exp (-x));
  return 0.5 * x * (1.0 + erf_approx (x * 0.70710678118654752));
}

float activation_derivative (uint kind, float slope, float x)
{
  if (kind == 0)
    return x > 0.0 ? 1.0 : 0.0;
  if (kind == 1)
    return x > 0.0 ? 1.0 : slope;
  if (kind == 2)
    {
      float t = tanh (x);
      return 1.0 - t * t;
    }
  if (kind == 3)
    {
      float s = 1.0 / (1.0 + exp (-x));
      return s * (1.0 - s);
    }
  return 0.5 * (1.0 + erf_approx (x * 0.70710678118654752))
         + x * exp (-0.5 * x * x) * 0.39894228040143268;
}
