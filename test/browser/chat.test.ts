/**
 * The web chat page in headless Chromium against the local server: two people become friends and
 * chat, one closes the page and catches up on return, a second tab of the same user follows the
 * same conversation, a group and a room work, and errors read well. Screenshots of the main
 * screens go to test-artifacts/browser/.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import WebSocket from "ws";
import type { Browser } from "playwright-core";
import { baseUrl, uniquePhone } from "../sdk/helpers";
import { launch, messageTexts, openChat, openPanel, openTab, person, say, screenshot, seeMessage, setName, signIn, waitOnline } from "./browser";

let browser: Browser;
let close: () => Promise<void>;
const errors: string[] = [];

beforeAll(async () => {
  ({ browser, close } = await launch());
});

afterAll(async () => {
  await close?.();
});

it("lets two people chat, catch up after being away, and follow a chat in a second tab", { timeout: 180_000 }, async () => {
  const base = baseUrl();
  const [alicePhone, bobPhone] = [uniquePhone(), uniquePhone()];
  const alice = await person(browser);
  const bob = await person(browser);

  const a1 = await openTab(alice, base, errors);
  await screenshot(a1, "01-sign-in");
  await signIn(a1, alicePhone);
  await waitOnline(a1);
  await setName(a1, "Alice");

  let b1 = await openTab(bob, base, errors);
  await signIn(b1, bobPhone);
  await waitOnline(b1);
  await setName(b1, "Bob");

  // Alice finds Bob by phone number and asks; Bob accepts.
  await openPanel(a1, "Add a friend");
  await a1.getByLabel("Phone number or name").fill(bobPhone);
  await a1.locator("#search-form").getByRole("button", { name: "Search" }).click();
  await a1.getByRole("button", { name: /^Add Bob/ }).click();
  await a1.getByText("request sent").waitFor();
  await b1.getByRole("button", { name: /^Accept Alice/ }).click();
  await openChat(b1, "Alice");

  await openChat(a1, "Bob");
  await say(a1, "Hi Bob!");
  await seeMessage(b1, "Hi Bob!");
  await say(b1, "Hi Alice, how are you?");
  await seeMessage(a1, "Hi Alice, how are you?");
  await screenshot(a1, "02-chat");

  // Bob closes the page; Alice writes meanwhile; Bob comes back in a new tab and catches up.
  await b1.close();
  for (const text of ["Are you there?", "I will wait.", "Lunch at noon?"]) {
    await say(a1, text);
    await seeMessage(a1, text);
  }
  b1 = await openTab(bob, base, errors);
  await expect(b1.getByLabel("Phone number", { exact: true }).inputValue()).resolves.toBe(bobPhone);
  await signIn(b1, bobPhone);
  await waitOnline(b1);
  await openChat(b1, "Alice");
  await seeMessage(b1, "Lunch at noon?");
  expect(await messageTexts(b1)).toEqual(["Hi Bob!", "Hi Alice, how are you?", "Are you there?", "I will wait.", "Lunch at noon?"]);
  await screenshot(b1, "03-caught-up");

  // A second tab of Alice is a second device: same conversation, and each tab sees the other's sends.
  const a2 = await openTab(alice, base, errors);
  await signIn(a2, alicePhone);
  await waitOnline(a2);
  await openChat(a2, "Bob");
  await seeMessage(a2, "Lunch at noon?");
  await say(b1, "Noon works.");
  await seeMessage(a1, "Noon works.");
  await seeMessage(a2, "Noon works.");
  await say(a2, "Great, see you.");
  await seeMessage(a1, "Great, see you.");
  await seeMessage(b1, "Great, see you.");
  expect(await messageTexts(a1)).toEqual(await messageTexts(a2));
  expect(await a1.locator("#me-name").innerText()).not.toBe(await a2.locator("#me-name").innerText()); // two devices
  await screenshot(a2, "04-second-tab");

  // A group with Bob.
  await openPanel(a1, "New group");
  await a1.getByLabel("Group name").fill("Lunch club");
  await a1.getByRole("checkbox", { name: "Bob" }).check();
  await a1.getByRole("button", { name: "Create group" }).click();
  await a1.locator("#conversation-title").filter({ hasText: "Lunch club" }).waitFor();
  await say(a1, "Welcome to the lunch club");
  await openChat(b1, "Lunch club");
  await seeMessage(b1, "Welcome to the lunch club");
  await screenshot(b1, "05-group");

  // A room: both join, Bob talks, Alice hears.
  const roomId = String(800_000 + Math.floor(Math.random() * 100_000));
  for (const page of [a1, b1]) {
    await openPanel(page, "Join a room");
    await page.getByLabel("Room number").fill(roomId);
    await page.locator("#room-form").getByRole("button", { name: "Join" }).click();
    await page.locator("#conversation-title").filter({ hasText: `Room ${roomId}` }).waitFor();
  }
  await say(b1, "Anyone in the room?");
  await seeMessage(a1, "Anyone in the room?");
  await screenshot(a1, "06-room");

  expect(errors).toEqual([]);
});

it("explains a wrong code and a bad phone number in words", async () => {
  const context = await person(browser);
  const page = await openTab(context, baseUrl(), errors);
  await signIn(page, uniquePhone(), "1234");
  await page.getByRole("alert").filter({ hasText: "That code is not right. On a local server the code is 0000." }).waitFor();
  await screenshot(page, "07-wrong-code");
  await signIn(page, "12", "0000");
  await page.getByRole("alert").filter({ hasText: "Enter a phone number of 3 to 20 digits." }).waitFor();
  expect(errors).toEqual([]);
  await context.close();
});

it("tells a tab whose device was taken over (4500) what happened, and offers a way on", async () => {
  const context = await person(browser);
  const page = await openTab(context, baseUrl(), errors);
  const phone = uniquePhone();
  await signIn(page, phone);
  await waitOnline(page);
  const session = JSON.parse((await page.evaluate(() => sessionStorage.getItem("gim.session"))) ?? "{}") as Record<string, string>;
  const query = `user_id=${session.userId}&device_id=${session.deviceId}&token=${encodeURIComponent(session.token ?? "")}`;
  const other = new WebSocket(`${baseUrl().replace(/^http/, "ws")}/ws?${query}`);
  await new Promise((resolve, reject) => other.once("open", resolve).once("error", reject));

  await page.getByRole("alert").filter({ hasText: "connected somewhere else" }).waitFor();
  await page.getByRole("status").filter({ hasText: "Disconnected" }).waitFor();
  await screenshot(page, "08-replaced");
  await page.getByRole("button", { name: "Use this tab as a new device" }).click();
  await page.getByRole("alert").filter({ hasText: "Sign in again to use this tab as a new device." }).waitFor();
  expect(await page.getByLabel("Phone number", { exact: true }).inputValue()).toBe(phone);
  other.close();
  expect(errors).toEqual([]);
  await context.close();
});
