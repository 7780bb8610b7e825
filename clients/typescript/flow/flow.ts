// The whole product flow through the generated client, against a running stack:
//   ZAPCUT_API=http://127.0.0.1:8000 node dist/flow/flow.js
// Run by tests/integration/test_typescript_client.py against the test stack. Each step prints one
// line; any unexpected answer throws, and the process exits 1.

import { deflateSync } from "node:zlib";

import { client } from "../src/generated/client.gen.js";
import * as api from "../src/generated/sdk.gen.js";
import type { GenerationOut, Problem } from "../src/generated/types.gen.js";

const baseUrl = process.env.ZAPCUT_API ?? "http://127.0.0.1:8000";
// The address this run's requests count against for the API's per-address limits (sign-ups,
// logins), as a proxy would name it: the test suite gives each run its own, so a run that follows
// hundreds of other sign-ups on the same stack is not refused (429) for them.
const forwardedFor = process.env.ZAPCUT_FORWARDED_FOR;
const TERMINAL = new Set(["completed", "failed", "cancelled"]);

function step(message: string): void {
  console.log(`flow: ${message}`);
}

// Every call answers { data, error, response }; a step that must succeed takes its data or throws.
function ok<T>(result: { data?: T; error?: unknown; response: Response }, what: string): T {
  if (result.error !== undefined || result.data === undefined) {
    throw new Error(`${what}: HTTP ${result.response.status} ${JSON.stringify(result.error)}`);
  }
  return result.data;
}

// A real PNG (a colour gradient), so the renderer has something to draw: 8-bit RGB, no filter.
function png(width: number, height: number): Uint8Array<ArrayBuffer> {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc32 = (bytes: Uint8Array): number => {
    let c = 0xffffffff;
    for (const b of bytes) c = (crcTable[(c ^ b) & 0xff] ?? 0) ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Uint8Array): Buffer => {
    const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
    const out = Buffer.alloc(body.length + 8);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body), body.length + 4);
    return out;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8);
  const rows = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    const row = y * (width * 3 + 1);
    for (let x = 0; x < width; x++) {
      rows.set([(x * 255) / width, (y * 255) / height, 160], row + 1 + x * 3);
    }
  }
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([
    signature,
    chunk("IHDR", header),
    chunk("IDAT", deflateSync(rows)),
    chunk("IEND", new Uint8Array()),
  ]);
}

async function followUntilEnded(projectId: string): Promise<GenerationOut> {
  // Server-sent events: one `generation` event whenever the document changes, until it ends.
  const { stream } = await api.streamGenerationEvents({
    path: { project_id: projectId },
    sseMaxRetryAttempts: 3,
  });
  let last: GenerationOut | undefined;
  for await (const event of stream) {
    last = event as GenerationOut;
    step(`progress ${last.status} ${last.progress}%`);
    if (TERMINAL.has(last.status)) break;
  }
  if (last === undefined) throw new Error("the event stream ended without an event");
  return last;
}

async function main(): Promise<void> {
  client.setConfig({ baseUrl, headers: forwardedFor ? { "X-Forwarded-For": forwardedFor } : {} });
  const email = `ts-client-${Date.now()}-${Math.random().toString(16).slice(2, 8)}@example.com`;
  const password = "a typed client passphrase 42";

  ok(await api.signUp({ body: { email, name: "TS Client", password } }), "sign up");
  const session = ok(await api.logIn({ body: { email, password } }), "log in");
  // Every operation that needs it declares the bearer scheme, so the client adds the token itself.
  const token = session.access_token;
  client.setConfig({ auth: () => token });
  step(`signed up and logged in as ${email}`);

  const brand = ok(
    await api.createBrand({
      body: { title: "Typed Fizz", description: "Sparkling water, typed", brand_guidelines: { tone: "bright" } },
    }),
    "create brand",
  );
  step(`brand ${brand.id}`);

  const image = png(320, 320);
  const ticket = ok(
    await api.createBrandUpload({
      path: { brand_id: brand.id },
      body: { kind: "product_image", filename: "fizz.png", content_type: "image/png", size: image.length },
    }),
    "request upload",
  );
  const put = await fetch(ticket.url, { method: "PUT", headers: ticket.headers, body: new Uint8Array(image) });
  if (!put.ok) throw new Error(`presigned PUT: HTTP ${put.status} ${await put.text()}`);
  const uploaded = ok(
    await api.confirmBrandUpload({
      path: { brand_id: brand.id },
      body: { upload_id: ticket.upload_id },
    }),
    "confirm upload",
  );
  step(`uploaded ${uploaded.product_images.length} product image(s) through a presigned URL`);

  const project = ok(
    await api.createProject({ body: { brand_id: brand.id, ad_details: { duration_s: 6 } } }),
    "create project",
  );
  ok(
    await api.putScript({
      path: { project_id: project.id },
      body: {
        scenes: [
          { order: 1, description: "A cold can opens with a hiss", duration_s: 3 },
          { order: 2, description: "Fruit falls into sparkling water", duration_s: 3 },
        ],
      },
    }),
    "write script",
  );
  ok(await api.approveScript({ path: { project_id: project.id } }), "approve");
  step(`project ${project.id} with an approved script`);

  const started = ok(
    await api.startGeneration({
      path: { project_id: project.id },
      body: { aspect: "9:16", resolution: 360 },
    }),
    "start generation",
  );
  step(`generation ${started.id} ${started.status}`);
  const ended = await followUntilEnded(project.id);
  if (ended.status !== "completed" || !ended.final_url) {
    throw new Error(`generation ended ${ended.status}: ${ended.error_message ?? ""}`);
  }
  const video = await fetch(ended.final_url);
  const bytes = new Uint8Array(await video.arrayBuffer());
  const brand4 = new TextDecoder().decode(bytes.slice(4, 8));
  if (!video.ok || brand4 !== "ftyp") throw new Error(`final video: HTTP ${video.status}, not an MP4`);
  step(`downloaded the final video: ${bytes.length} bytes, ${video.headers.get("content-type")}`);

  const second = ok(
    await api.startGeneration({ path: { project_id: project.id }, body: {} }),
    "start a second generation",
  );
  const cancelled = ok(
    await api.cancelGeneration({ path: { project_id: project.id } }),
    "cancel",
  );
  if (cancelled.id !== second.id || cancelled.status !== "cancelled") {
    throw new Error(`cancel answered ${cancelled.id} ${cancelled.status}`);
  }
  step(`cancelled the second generation ${second.id}`);

  // Errors are typed problem details (RFC 9457).
  const invalid = await api.createBrand({ body: { title: "" } });
  const invalidProblem: Problem | undefined = invalid.error;
  const field = invalidProblem?.errors?.[0]?.field;
  if (invalid.response.status !== 422 || invalidProblem?.status !== 422 || field !== "body.title") {
    throw new Error(`an empty title answered HTTP ${invalid.response.status}: ${JSON.stringify(invalid.error)}`);
  }
  if (invalid.response.headers.get("content-type") !== "application/problem+json") {
    throw new Error(`a problem came as ${invalid.response.headers.get("content-type")}`);
  }
  step(`a brand with an empty title: ${invalidProblem.status} ${invalidProblem.title}: ${field} ${invalidProblem.errors?.[0]?.message}`);
  const missing = await api.getBrand({ path: { brand_id: "00000000-0000-4000-8000-000000000000" } });
  const missingProblem: Problem | undefined = missing.error;
  if (missing.response.status !== 404 || missingProblem?.status !== 404 || missingProblem.code !== "not_found") {
    throw new Error(`an unknown brand answered HTTP ${missing.response.status}: ${JSON.stringify(missing.error)}`);
  }
  step(`an unknown brand: ${missingProblem.status} ${missingProblem.title} (${missingProblem.type}): ${missingProblem.detail}`);

  const loggedOut = await api.logOut();
  if (loggedOut.response.status !== 204) throw new Error(`log out: HTTP ${loggedOut.response.status}`);
  const after = await api.getMe();  // the same token, refused now
  if (after.response.status !== 401) throw new Error(`after log out: HTTP ${after.response.status}`);
  step("logged out; the token is refused");
  step("done");
}

main().catch((error: unknown) => {
  console.error(`flow: FAILED: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
