// shot.mjs URL OUT.png [WAIT_SELECTOR]: loads URL in Debian's Chromium
// (headless, through playwright-core), waits for the selector if given,
// writes a screenshot and prints {"status", "title", "text"} as JSON.
// Loopback only: the browser gets no proxy and no other network.
import { chromium } from 'playwright-core';

const [url, out, sel] = process.argv.slice(2);
if (!url || !out) {
	console.error('usage: shot.mjs URL OUT.png [SELECTOR]');
	process.exit(2);
}
const browser = await chromium.launch({
	executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
	args: ['--no-sandbox', '--disable-gpu', '--no-proxy-server'],
});
try {
	const page = await browser.newPage();
	const resp = await page.goto(url, { timeout: 30000 });
	if (sel)
		await page.waitForSelector(sel, { timeout: 30000 });
	await page.screenshot({ path: out, fullPage: true });
	console.log(JSON.stringify({
		status: resp ? resp.status() : 0,
		title: await page.title(),
		text: (await page.innerText('body')).slice(0, 4096),
	}));
} finally {
	await browser.close();
}
