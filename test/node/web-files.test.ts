// The web page's files on the local server: served behind the Worker through its ASSETS binding
// (scripts/local-server.mjs), for GETs that no route matches.
import { expect, it } from "vitest";
import { baseUrl } from "./client";

it("serves the web page's files and still answers an unknown path with a Connect error", async () => {
  const page = await fetch(`${baseUrl()}/`);
  expect(page.status).toBe(200);
  expect(page.headers.get("content-type")).toContain("text/html");
  expect(await page.text()).toContain("<!doctype html>");

  const sdk = await fetch(`${baseUrl()}/gim-sdk.js`);
  expect(sdk.status).toBe(200);
  expect(sdk.headers.get("content-type")).toContain("javascript");

  const unknown = await fetch(`${baseUrl()}/no-such-file.js`);
  expect(unknown.status).toBe(501);
  expect(((await unknown.json()) as { code: string }).code).toBe("unimplemented");
});
