// Builds the runtime bundle once before any test: the AWS stack packages dist/runtime/lambda.js, and the
// Cloudflare stack and Worker tests read dist/runtime/cloudflare.js.
module.exports = async () => {
  await require('../../scripts/build-runtime').buildRuntime({ quiet: true });
};
