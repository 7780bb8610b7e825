import { defineConfig } from "@hey-api/openapi-ts";

// `make client` writes openapi.json from the gateway, then runs this (npm run generate).
export default defineConfig({
  input: "./openapi.json",
  output: { path: "src/generated", importFileExtension: ".js" },
  plugins: ["@hey-api/client-fetch", "@hey-api/typescript", { name: "@hey-api/sdk", operations: { strategy: "flat" } }],
});
