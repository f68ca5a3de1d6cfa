// Philox4x32-10, as compute/ops/philox.h: value i of a stream depends only
// on (seed, stream, i), the same on every backend.
uvec4 philox (uvec4 c, uvec2 key)
{
  for (int round = 0; round < 10; round++)
    {
      uint hi0, lo0, hi1, lo1;
      umulExtended (0xD2511F53u, c.x, hi0, lo0);
      umulExtended (0xCD9E8D57u, c.z, hi1, lo1);
      c = uvec4 (hi1 ^ c.y ^ key.x, lo1, hi0 ^ c.w ^ key.y, lo0);
      key += uvec2 (0x9E3779B9u, 0xBB67AE85u);
    }
  return c;
}

// Two 32-bit draws for element i (below 2^32 here) of STREAM under SEED.
uvec2 philox_draw (uint seed, uint stream, uint i)
{
  return philox (uvec4 (i, 0u, stream, 0u), uvec2 (seed, 0x4C4F4F4Du)).xy;
}

float uniform_of (uint bits)
{
  return float (bits >> 8) * (1.0 / 16777216.0);
}
