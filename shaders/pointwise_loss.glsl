// The pointwise losses of LoomLoss (compute/ops/pointwise_loss.h):
// 0 MSE, 1 L1, 2 BCE with logits, 3 hinge, 4 linear.
float pointwise_loss (uint kind, float y, float t)
{
  if (kind == 0)
    return (y - t) * (y - t);
  if (kind == 1)
    return abs (y - t);
  if (kind == 2)
    return max (y, 0.0) - y * t + log (1.0 + exp (-abs (y)));
  if (kind == 3)
    return max (0.0, 1.0 - t * y);
  return -t * y;
}

float pointwise_loss_derivative (uint kind, float y, float t)
{
  if (kind == 0)
    return 2.0 * (y - t);
  if (kind == 1)
    return y > t ? 1.0 : (y < t ? -1.0 : 0.0);
  if (kind == 2)
    return 1.0 / (1.0 + exp (-y)) - t;
  if (kind == 3)
    return 1.0 - t * y > 0.0 ? -t : 0.0;
  return -t;
}
