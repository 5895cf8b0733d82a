// The browser demo (examples/web, served by nkhost at /web/) in a real headless Chromium:
// two pages log in, chat, one creates a tic-tac-toe match, the other joins it from the lobby,
// they play to X's win and both see the result. Screenshots go to the directory given.
// Usage: node browser.cjs PORT CHROMIUM_PATH SCREENSHOT_DIR
"use strict";
const path = require("path");
const { chromium } = require("playwright-core");
const { run } = require("./harness.cjs");

const [port, executablePath, shots] = process.argv.slice(2);

run(async (h) => {
  const browser = await chromium.launch({ executablePath, headless: true, args: ["--no-sandbox"] });
  const errors = [];
  async function open(name) {
    const page = await (await browser.newContext()).newPage();
    page.setDefaultTimeout(10000); // a guard against hangs only: every step awaits an element
    page.on("pageerror", (e) => errors.push(`${name}: ${e.message}`));
    page.on("console", (m) => { if (m.type() === "error") errors.push(`${name}: ${m.text()}`); });
    await page.goto(`http://127.0.0.1:${port}/web/?device=browser-${name}-${h.uid()}`);
    await page.click("#login");
    await page.locator("#me[data-user-id]").waitFor();
    return page;
  }
  try {
    await h.scenario("two_pages_play", async () => {
      const a = await open("a");
      const b = await open("b");
      await a.fill("#chat-input", "hello from A");
      await a.click("#chat-send");
      await b.locator("#chat-log li", { hasText: "hello from A" }).waitFor();
      await b.fill("#chat-input", "hi from B");
      await b.click("#chat-send");
      await a.locator("#chat-log li", { hasText: "hi from B" }).waitFor();

      await a.click("#create");
      await a.locator("#game-status", { hasText: "Waiting for an opponent" }).waitFor();
      const matchId = await a.textContent("#match-id");
      await b.click("#refresh");
      await b.locator(`#matches li[data-match-id="${matchId}"] button`).click();
      for (const [mover, position, mark] of [[a, 0, "X"], [b, 3, "O"], [a, 1, "X"], [b, 4, "O"], [a, 2, "X"]]) {
        await mover.locator('#game-status[data-turn="mine"]').waitFor();
        await mover.click(`.cell[data-pos="${position}"]`);
        for (const page of [a, b]) { // both pages drew the move before the next one
          await page.locator(`.cell[data-pos="${position}"]`, { hasText: mark }).waitFor();
        }
      }
      const outcome = async (page) => {
        const status = page.locator("#game-status[data-result]");
        await status.waitFor();
        return { result: await status.getAttribute("data-result"), text: await status.textContent() };
      };
      const [ra, rb] = [await outcome(a), await outcome(b)];
      const board = await b.locator(".cell").allTextContents();
      const screenshots = [];
      for (const [name, page] of [["a", a], ["b", b]]) {
        const file = path.join(shots, `demo-${name}.png`);
        await page.screenshot({ path: file, fullPage: true });
        screenshots.push(file);
      }
      return {
        match_id: matchId,
        a_user: await a.getAttribute("#me", "data-user-id"),
        a_chat: await a.locator("#chat-log li").allTextContents(),
        b_chat: await b.locator("#chat-log li").allTextContents(),
        a_result: ra, b_result: rb, board, screenshots, errors,
      };
    });
  } finally {
    await browser.close();
  }
});
