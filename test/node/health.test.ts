import { expect, inject, it } from "vitest";

it("answers /healthz with 200 once ready", async () => {
  const res = await fetch(`${inject("baseUrl")}/healthz`);
  expect(res.status).toBe(200);
  expect(await res.text()).toBe("ok");
});
