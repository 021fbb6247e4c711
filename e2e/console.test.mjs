// End-to-end test of the web console in a real browser: playwright-core
// drives Debian's chromium (headless) against a real `rampart serve` on a
// random port with a fresh data directory, seeded with the CLI.
//
//   E2E_RAMPART     the rampart binary (default: ../bin/rampart)
//   E2E_CHROMIUM    the browser (default: /usr/bin/chromium)
//   E2E_ARTIFACTS   where screenshots go (default: ../test-artifacts/e2e)
// (Not RAMPART_*: rampart refuses unknown RAMPART_ variables.)
//
// Run with scripts/e2e.sh, which builds the binary and installs what is missing.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { createHmac } from "node:crypto";
import fs from "node:fs";
import https from "node:https";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = path.dirname(fileURLToPath(import.meta.url));
const BIN = process.env.E2E_RAMPART || path.join(here, "..", "bin", "rampart");
const CHROMIUM = process.env.E2E_CHROMIUM || "/usr/bin/chromium";
const ARTIFACTS = process.env.E2E_ARTIFACTS || path.join(here, "..", "test-artifacts", "e2e");
const PASSWORD = "correct horse battery staple";
const XSS = "<script>alert(1)</script>";

let dataDir, server, base, browser;
const problems = []; // console errors, page errors, dialogs

// --- RFC 6238 TOTP (test code: the server uses a vetted library) ---------
function base32Decode(s) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = 0, value = 0;
  const out = [];
  for (const ch of s.replace(/=+$/, "").toUpperCase()) {
    const i = alphabet.indexOf(ch);
    if (i < 0) throw new Error("bad base32: " + ch);
    value = (value << 5) | i;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

export function totp(secret, atMs = Date.now(), period = 30, digits = 6) {
  const counter = Math.floor(atMs / 1000 / period);
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac("sha1", base32Decode(secret)).update(msg).digest();
  const off = mac[mac.length - 1] & 0x0f;
  const bin = ((mac[off] & 0x7f) << 24) | (mac[off + 1] << 16) | (mac[off + 2] << 8) | mac[off + 3];
  return String(bin % 10 ** digits).padStart(digits, "0");
}

test("TOTP matches the RFC 6238 SHA-1 test vector", () => {
  // Secret "12345678901234567890" (ASCII), T = 59 s, 8 digits -> 94287082.
  const secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
  assert.equal(totp(secret, 59_000, 30, 8), "94287082");
  assert.equal(totp(secret, 1111111109_000, 30, 8), "07081804");
});

// --- the instance -------------------------------------------------------
function env() {
  // A hermetic instance: none of the caller's RAMPART_* settings.
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("RAMPART_")));
  return { ...clean, RAMPART_DATA_DIR: dataDir, RAMPART_LISTEN_HTTPS: "127.0.0.1:0", RAMPART_LISTEN_HTTP: "off", RAMPART_LOG_LEVEL: "warn" };
}

function cli(args, input) {
  const r = spawnSync(BIN, args, { env: env(), input, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`rampart ${args.join(" ")} failed: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

function startServer() {
  return new Promise((resolve, reject) => {
    server = spawn(BIN, ["serve"], { env: env(), stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    const timer = setTimeout(() => reject(new Error("server did not start:\n" + out)), 60_000);
    const onData = (d) => {
      out += d;
      const m = /is running at (https:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    server.stdout.on("data", onData);
    server.stderr.on("data", (d) => { out += d; });
    server.on("exit", (code) => reject(new Error(`server exited (${code}):\n${out}`)));
  });
}

// api calls the JSON API directly (self-signed development certificate).
function api(method, p, { body, cookie, ua, bearer } = {}) {
  return new Promise((resolve, reject) => {
    const u = new URL(p, base);
    const req = https.request(u, {
      method, rejectUnauthorized: false,
      headers: {
        "Content-Type": "application/json",
        ...(cookie ? { Cookie: cookie } : {}),
        ...(bearer ? { Authorization: "Bearer " + bearer } : {}),
        "User-Agent": ua || "rampart-e2e",
      },
    }, (res) => {
      let data = "";
      res.on("data", (c) => { data += c; });
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: data ? JSON.parse(data) : null }));
    });
    req.on("error", reject);
    if (body) req.write(JSON.stringify(body));
    req.end();
  });
}

// mailLink reads the newest link of kind page ("invite", "reset") mailed
// to email from <data_dir>/outbox (no SMTP server is configured).
function mailLink(email, page) {
  const dir = path.join(dataDir, "outbox");
  const files = fs.readdirSync(dir).sort().reverse();
  for (const f of files) {
    const raw = fs.readFileSync(path.join(dir, f), "utf8");
    const [head, ...rest] = raw.split("\r\n\r\n");
    if (!head.toLowerCase().includes("<" + email.toLowerCase() + ">")) continue;
    // Quoted-printable: soft line breaks, then =XX escapes.
    const body = rest.join("\r\n\r\n").replace(/=\r?\n/g, "").replace(/=([0-9A-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16)));
    const m = new RegExp(`https://\\S+/${page}#token=[A-Za-z0-9_-]+`).exec(body);
    if (m) return m[0];
  }
  throw new Error(`no ${page} mail to ${email} in ${dir}`);
}

before(async () => {
  assert.ok(fs.existsSync(BIN), `no rampart binary at ${BIN}: run scripts/e2e.sh`);
  assert.ok(fs.existsSync(CHROMIUM), `no browser at ${CHROMIUM}: apt-get install chromium`);
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "rampart-e2e-"));
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  // Seed with the CLI before the server opens the database.
  cli(["admin", "org", "create", "--name", "Acme Inc.", "--slug", "acme"]);
  cli(["admin", "user", "create", "--org", "acme", "--email", "admin@acme.test", "--password-stdin", "--role", "owner"], PASSWORD + "\n");
  cli(["admin", "user", "create", "--org", "acme", "--email", "mallory@acme.test", "--password-stdin", "--role", "member"], PASSWORD + "\n");
  base = await startServer();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"],
  });
});

after(async () => {
  if (browser) await browser.close();
  if (server && server.exitCode === null) {
    const exited = new Promise((r) => server.once("exit", r));
    server.kill("SIGTERM");
    await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
    if (server.exitCode === null) server.kill("SIGKILL");
  }
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

// --- browser helpers ----------------------------------------------------
async function newPage(name) {
  const ctx = await browser.newContext({ ignoreHTTPSErrors: true, acceptDownloads: true, viewport: { width: 1280, height: 800 } });
  const page = await ctx.newPage();
  page.on("console", (m) => { if (m.type() === "error") problems.push(`${name}: console error: ${m.text()} (${page.url()})`); });
  page.on("pageerror", (e) => problems.push(`${name}: page error: ${e.message}`));
  page.on("dialog", async (d) => { problems.push(`${name}: a dialog fired: ${d.type()} ${d.message()}`); await d.dismiss(); });
  page.setDefaultTimeout(15_000);
  return page;
}

async function go(page, p) {
  const resp = await page.goto(new URL(p, base).href);
  assert.ok(resp, "no response for " + p);
  return resp;
}

// submit clicks a form's button and waits for the page it leads to.
async function submit(page, buttonName) {
  await Promise.all([page.waitForNavigation(), page.getByRole("button", { name: buttonName, exact: true }).click()]);
}

// everyFieldLabelled checks that each visible form control has a label.
async function everyFieldLabelled(page) {
  const unlabelled = await page.$$eval("input, select, textarea", (els) => els
    .filter((e) => e.type !== "hidden" && e.type !== "submit" && e.type !== "button")
    .filter((e) => !(e.labels && e.labels.length > 0) && !e.getAttribute("aria-label") && !e.getAttribute("aria-labelledby"))
    .map((e) => e.outerHTML));
  assert.deepEqual(unlabelled, [], `unlabelled fields on ${page.url()}`);
  // Landmarks: one main, a banner.
  assert.equal(await page.locator("main").count(), 1);
  assert.equal(await page.locator("header").count(), 1);
}

// shoot saves the page at desktop and phone sizes and checks the phone
// layout has no horizontal scrolling.
async function shoot(page, name) {
  await everyFieldLabelled(page);
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}-1280x800.png`), fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}-390x844.png`), fullPage: true });
  // Usable down to 360 px: nothing may make the page scroll sideways.
  for (const width of [390, 360]) {
    await page.setViewportSize({ width, height: 800 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 1, `${name}: the page scrolls sideways at ${width} px (${overflow} px)`);
  }
  await page.setViewportSize({ width: 1280, height: 800 });
}

async function signIn(page, email, password = PASSWORD) {
  await go(page, "/console/sign-in");
  await page.getByLabel("Organization").fill("acme");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await submit(page, "Sign in");
}

// --- the journey --------------------------------------------------------
test("invite, accept, enrol TOTP, sign in with it, custom role, audit and chain", async () => {
  // A member whose data carries markup: sessions (user agent) and a token
  // name that the admin's pages and the audit log show. (Email addresses
  // cannot hold markup: identity accepts only valid addresses.)
  const login = await api("POST", "/api/v1/auth/login", { body: { organization: "acme", email: "mallory@acme.test", password: PASSWORD }, ua: XSS });
  assert.equal(login.status, 200);
  const cookie = login.headers["set-cookie"][0].split(";")[0];
  const tok = await api("POST", "/api/v1/me/tokens", { cookie, ua: XSS, body: { name: XSS, permissions: ["records.read"], expires_in_seconds: 3600 } });
  assert.equal(tok.status, 201);

  // Sign-in page, as anyone sees it first.
  const admin = await newPage("admin");
  await go(admin, "/");
  assert.match(admin.url(), /\/console\/sign-in$/);
  await shoot(admin, "sign-in");
  await signIn(admin, "admin@acme.test");
  assert.match(admin.url(), /\/console\/account$/);
  await shoot(admin, "account");

  // Admin invites alice.
  await go(admin, "/console/org/members");
  await admin.getByLabel("Email").fill("alice@acme.test");
  await submit(admin, "Send invitation");
  await admin.getByText("The invitation has been sent.").waitFor();
  await shoot(admin, "members");

  // Alice opens the mailed link: the token comes from the fragment.
  const link = mailLink("alice@acme.test", "invite");
  const alice = await newPage("alice");
  await alice.goto(link);
  assert.ok(!alice.url().includes("#token"), "the token stays in the address bar");
  assert.ok((await alice.getByLabel("Invitation code").inputValue()).startsWith("rpi_"));
  const pw = alice.getByLabel("New password");
  await pw.fill("short");
  assert.match(await alice.locator('#pw-rules li[data-rule="min_length"]').getAttribute("class"), /unmet/);
  await pw.fill("purple monkey dishwasher 7");
  assert.match(await alice.locator('#pw-rules li[data-rule="min_length"]').getAttribute("class"), /\bmet/);
  await alice.getByLabel("Repeat the password").fill("purple monkey dishwasher 7");
  await shoot(alice, "accept-invite");
  await submit(alice, "Join");
  assert.match(alice.url(), /\/console\/account$/);

  // Alice enrols TOTP; the test reads the secret from the page.
  await go(alice, "/console/account/2fa");
  await shoot(alice, "2fa-off");
  await submit(alice, "Set up two-factor authentication");
  assert.match(await alice.locator("img.qr").getAttribute("src"), /^data:image\/png;base64,/);
  const secret = (await alice.locator("#totp-secret").textContent()).trim();
  const uri = (await alice.locator("#totp-uri").textContent()).trim();
  assert.ok(uri.startsWith("otpauth://totp/") && uri.includes("secret=" + secret));
  assert.ok(await alice.locator("img.qr").evaluate((img) => img.complete && img.naturalWidth > 0), "QR code image did not load (CSP?)");
  await shoot(alice, "2fa-enrol");
  await alice.getByLabel("Code from the app").fill(totp(secret));
  await submit(alice, "Turn on two-factor authentication");
  const codes = (await alice.locator("#recovery-codes").textContent()).trim().split(/\s+/);
  assert.equal(codes.length, 10);
  const [download] = await Promise.all([alice.waitForEvent("download"), alice.getByRole("link", { name: "Download as a text file" }).click()]);
  assert.match(download.suggestedFilename(), /recovery-codes\.txt$/);
  const saved = fs.readFileSync(await download.path(), "utf8");
  for (const c of codes) assert.ok(saved.includes(c), "the downloaded file lacks a recovery code");
  await shoot(alice, "2fa-recovery-codes");

  // Sign out, sign in again with a TOTP code (the next step: the one used
  // to confirm cannot be replayed).
  await submit(alice, "Sign out");
  await alice.getByText("You have signed out.").waitFor();
  await signIn(alice, "alice@acme.test", "purple monkey dishwasher 7");
  assert.match(alice.url(), /\/console\/sign-in\/2fa$/);
  await shoot(alice, "sign-in-2fa");
  await alice.getByLabel("Code").fill(totp(secret, Date.now() + 30_000));
  await submit(alice, "Verify");
  assert.match(alice.url(), /\/console\/account$/);
  await go(alice, "/console/account/sessions");
  await shoot(alice, "sessions");
  await go(alice, "/console/account/tokens");
  await shoot(alice, "tokens");

  // Admin creates a custom role and gives it to alice.
  await go(admin, "/console/org/roles");
  await admin.getByLabel("Name").fill("reviewer");
  await admin.getByLabel("audit.read", { exact: false }).check();
  await admin.locator("#perm-members\\.read").check();
  await submit(admin, "Save role");
  await admin.getByText("The role has been saved.").waitFor();
  await shoot(admin, "roles");
  await go(admin, "/console/org/members");
  await Promise.all([admin.waitForNavigation(), admin.getByRole("link", { name: "alice@acme.test" }).click()]);
  await admin.getByLabel("reviewer (custom)").check();
  await submit(admin, "Save roles");
  await admin.getByText("The member's roles have been saved.").waitFor();
  assert.ok((await admin.locator("dl.facts").textContent()).includes("reviewer"));
  await shoot(admin, "member");

  // The member with markup in their data renders as text (no dialog).
  await go(admin, "/console/org/members");
  await Promise.all([admin.waitForNavigation(), admin.getByRole("link", { name: "mallory@acme.test" }).click()]);
  assert.ok((await admin.locator("main").textContent()).includes(XSS), "the markup is shown as text");
  await shoot(admin, "member-xss");

  // The audit viewer shows those events; the filter narrows them.
  await go(admin, "/console/org/audit");
  const log = await admin.locator("table.audit").textContent();
  for (const action of ["invite.create", "invite.accept", "mfa.enable", "role.create", "member.roles.update", "token.create"]) {
    assert.ok(log.includes(action), `audit viewer lacks ${action}`);
  }
  await admin.getByLabel("Action", { exact: false }).fill("role.");
  await submit(admin, "Apply");
  const filtered = await admin.locator("table.audit tbody").textContent();
  assert.ok(filtered.includes("role.create") && !filtered.includes("member.roles.update"));
  await shoot(admin, "audit-filtered");
  await go(admin, "/console/org/audit");
  await submit(admin, "Verify chain");
  await admin.getByRole("heading", { name: "Chain verified: OK" }).waitFor();
  await shoot(admin, "audit-verified");

  // The policy page, and alice's new role opens the audit log for her.
  await go(admin, "/console/org/policy");
  await shoot(admin, "policy");
  await go(admin, "/console/org/collections");
  await shoot(admin, "collections");
  await go(admin, "/console/org/clients");
  await shoot(admin, "oauth-clients");
  await go(admin, "/console/org/credentials");
  await shoot(admin, "credentials");
  const r = await go(alice, "/console/org/audit");
  assert.equal(r.status(), 200);

  // Error pages.
  const nf = await go(admin, "/console/no-such-page");
  assert.equal(nf.status(), 404);
  await shoot(admin, "error-404");

  // Anonymous pages.
  const anon = await newPage("anonymous");
  await go(anon, "/console/forgot");
  await shoot(anon, "forgot-password");
  await go(anon, "/reset");
  await shoot(anon, "reset-password");

  // The 404 above logs a console error for its status; nothing else may.
  const unexpected = problems.filter((p) => !(p.includes("status of 404") && p.includes("no-such-page")));
  assert.deepEqual(unexpected, []);
});

test("a cross-site form post is refused", async () => {
  const page = await newPage("csrf");
  await signIn(page, "admin@acme.test");
  // From the console's own origin the browser sends Sec-Fetch-Site:
  // same-origin; a post without the form's token is still refused.
  const status = await page.evaluate(async () => {
    const r = await fetch("/console/account/tokens", { method: "POST", body: new URLSearchParams({ name: "x", permissions: "records.read", expires_days: "7" }) });
    return r.status;
  });
  assert.equal(status, 403);
  // A request that says it comes from another site is refused even with the token.
  const token = await page.locator('input[name="csrf_token"]').first().inputValue();
  const r = await page.request.post(new URL("/console/account/tokens", base).href, {
    headers: { "Sec-Fetch-Site": "cross-site", Origin: "https://evil.example" },
    form: { name: "x", permissions: "records.read", expires_days: "7", csrf_token: token },
  });
  assert.equal(r.status(), 403);
});
