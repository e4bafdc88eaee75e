/** @type {import('next').NextConfig} */
const nextConfig = {
  // Next 14 runs instrumentation.ts only behind this flag (stable from Next 15).
  experimental: { instrumentationHook: true },
};

module.exports = nextConfig;
