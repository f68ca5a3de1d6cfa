// Shared by the cross-entropy kernels: LoomCrossEntropyParams and the
// pixel's class, weight and log-softmax normaliser (compute/ops/cross_entropy.h).
layout(local_size_x_id = 0) in;

layout(push_constant) uniform Params
{
  uint n, k, hw;
  int  ignore;
  uint has_weights;
  uint mean;
} p;

// The class of pixel i, or -1 when ignored or out of range.
int pixel_class (uint i, out float weight, out float log_norm)
{
  uint n = i / p.hw, j = i % p.hw, base = n * p.k * p.hw + j;
  float label = labels[i];
  int y = int (label);
  weight = 0.0;
  log_norm = 0.0;
  if (label != float (y) || y == p.ignore || y < 0 || y >= int (p.k))
    return -1;
  float top = -3.402823466e38;
  for (uint c = 0; c < p.k; c++)
    top = max (top, logits[base + c * p.hw]);
  float sum = 0.0;
  for (uint c = 0; c < p.k; c++)
    sum += exp (logits[base + c * p.hw] - top);
  log_norm = top + log (sum);
  weight = p.has_weights != 0 ? weights[y] : 1.0;
  return y;
}

#define FOR_EACH_PIXEL(i) \
  for (uint i = gl_GlobalInvocationID.x; i < p.n * p.hw; i += gl_NumWorkGroups.x * gl_WorkGroupSize.x)
