/** Headless Chromium for the page tests: Debian's chromium driven by playwright-core. */
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const ARTIFACTS = new URL("../../test-artifacts/browser/", import.meta.url).pathname;
const WAIT_MS = 15_000;

/** Launches Chromium; playwright gives it a fresh, temporary user-data-dir of its own. */
export async function launch(): Promise<{ browser: Browser; close(): Promise<void> }> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no Chromium at ${CHROMIUM}: run \`apt-get install -y chromium\` (or set CHROMIUM_PATH)`);
  }
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  mkdirSync(ARTIFACTS, { recursive: true });
  return {
    browser,
    close: () => browser.close(),
  };
}

/** A person: one browser context (own localStorage); each page in it is a tab, i.e. a device. */
export async function person(browser: Browser): Promise<BrowserContext> {
  return browser.newContext({ viewport: { width: 1100, height: 720 } });
}

/** Opens the chat page in a new tab and collects page errors (a test fails on any). */
export async function openTab(context: BrowserContext, baseUrl: string, errors: string[]): Promise<Page> {
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT_MS);
  page.on("pageerror", (err) => errors.push(`${page.url()}: ${err.message}`));
  await page.goto(`${baseUrl}/`);
  return page;
}

export async function signIn(page: Page, phone: string, code = "0000"): Promise<void> {
  await page.getByLabel("Phone number", { exact: true }).fill(phone);
  await page.getByLabel("Verification code").fill(code);
  await page.getByRole("button", { name: "Sign in" }).click();
}

export async function waitOnline(page: Page): Promise<void> {
  await page.getByRole("status").filter({ hasText: /^Online$/ }).waitFor();
}

export async function setName(page: Page, name: string): Promise<void> {
  await page.locator("#me-name").filter({ hasText: "device" }).waitFor(); // the profile is loaded
  if (!(await page.getByLabel("Your name").isVisible())) {
    await openPanel(page, "Your profile");
  }
  await page.getByLabel("Your name").fill(name);
  await page.locator("#profile-form").getByRole("button", { name: "Save" }).click();
  await page.locator("#me-name").filter({ hasText: name }).waitFor();
}

/** Opens one of the side panel's sections ("Add a friend", "New group", …). */
export async function openPanel(page: Page, summary: string): Promise<void> {
  await page.locator("summary", { hasText: summary }).click();
}

export async function openChat(page: Page, title: string | RegExp): Promise<void> {
  await page.locator("#conversations button .title").filter({ hasText: title }).first().click();
  await page.locator("#conversation-title").filter({ hasText: title }).waitFor();
}

export async function say(page: Page, text: string): Promise<void> {
  await page.getByRole("textbox", { name: "Message" }).fill(text);
  await page.keyboard.press("Enter");
}

/** Waits until the open conversation shows `text` as a delivered message. */
export async function seeMessage(page: Page, text: string): Promise<void> {
  await page.locator('#messages li[data-status="sent"], #messages li.system').filter({ hasText: text }).first().waitFor();
}

/** The texts of the open conversation, in order. */
export async function messageTexts(page: Page): Promise<string[]> {
  return page.locator("#messages li .text").allInnerTexts();
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}
