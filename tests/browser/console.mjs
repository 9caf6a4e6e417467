// console.mjs BASE TOKEN SEQ BUNDLE OUTDIR: drives the auditor console in
// Debian's Chromium (headless, playwright-core): sign-in, the timeline and
// its filters, an execution's page, log state, a dropped bundle, and the
// same pages with a tampered record, which must show as failing.
// Screenshots go to OUTDIR; prints {"ok": true} or throws.  Loopback only.
import { chromium } from 'playwright-core';

const [base, token, seqArg, bundle, outdir] = process.argv.slice(2);
if (!outdir) {
	console.error('usage: console.mjs BASE TOKEN SEQ BUNDLE OUTDIR');
	process.exit(2);
}
const seq = Number(seqArg);
const must = (cond, what) => { if (!cond) throw new Error('console: ' + what); };
const browser = await chromium.launch({
	executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
	args: ['--no-sandbox', '--disable-gpu', '--no-proxy-server'],
});

async function signIn(page) {
	await page.goto(base + '/console/', { timeout: 30000 });
	await page.fill('#token', token);
	await page.click('#signin-form button');
	try {
		await page.waitForSelector('#tl-verdict', { timeout: 60000 });
	} catch (e) {
		await page.screenshot({ path: outdir + '/console-signin-failed.png', fullPage: true });
		throw new Error('sign-in: ' + (await page.textContent('#signin-error')));
	}
}

try {
	// an honest log
	let page = await browser.newPage();
	const errors = [];
	page.on('pageerror', (e) => errors.push(String(e)));
	await signIn(page);
	let verdict = await page.textContent('#tl-verdict');
	must(/records verified in this browser/.test(verdict), 'timeline verdict: ' + verdict);
	must((await page.getAttribute('#tl-verdict', 'class')) === 'ok', 'verdict class');
	must(await page.evaluate(() => sessionStorage.getItem('petri.token')) === token, 'token in sessionStorage');
	await page.screenshot({ path: outdir + '/console-timeline.png', fullPage: true });
	const all = await page.locator('#records tbody tr').count();
	await page.selectOption('#f-type', 'exec.finished');
	const types = await page.locator('#records tbody tr td:nth-child(3)').allTextContents();
	must(types.length > 0 && types.length < all && types.every((t) => t === 'exec.finished'), 'type filter: ' + types);
	await page.fill('#f-tenant', 'no-such-tenant');
	must(await page.locator('#records tbody tr').count() === 0, 'tenant filter');
	await page.fill('#f-tenant', '');
	await page.screenshot({ path: outdir + '/console-filtered.png', fullPage: true });
	await page.click('#records tbody tr[data-seq="' + seq + '"]');
	await page.waitForSelector('#rec-verdict:has-text("erified")', { timeout: 30000 });
	verdict = await page.textContent('#rec-verdict');
	must(verdict === 'Verified in this browser', 'record verdict: ' + verdict);
	const body = await page.innerText('#rec-body');
	must(body.includes('hello from the console test') && body.includes('acme/model-1') &&
	    body.includes('print the greeting') && body.includes('app.py'), 'execution page: ' + body.slice(0, 400));
	const checks = await page.innerText('#rec-checks');
	must(checks.includes('inclusion proof') && !checks.includes('\u2717'), 'record checks: ' + checks);
	await page.screenshot({ path: outdir + '/console-execution.png', fullPage: true });
	await page.click('a[href="#state"]');
	await page.waitForSelector('#chart svg rect', { timeout: 30000 });
	const state = await page.innerText('#state-dl');
	must(state.includes('recomputed here from the records'), 'state: ' + state);
	await page.screenshot({ path: outdir + '/console-state.png', fullPage: true });
	await page.click('a[href="#bundle"]');
	await page.setInputFiles('#bundle-file', bundle);
	await page.waitForSelector('#bundle-verdict:has-text("erified")', { timeout: 60000 });
	verdict = await page.textContent('#bundle-verdict');
	must(verdict === 'Bundle verified in this browser', 'bundle verdict: ' + verdict);
	await page.screenshot({ path: outdir + '/console-bundle.png', fullPage: true });
	must(errors.length === 0, 'page errors: ' + errors.join('; '));
	await page.close();

	// the same log with record seq altered on its way to the browser
	const ctx = await browser.newContext();
	const tamper = (text) => text.replace('print the greeting', 'print another thing');
	await ctx.route('**/v1/audit/records?*', async (route) => {
		const r = await route.fetch();
		const j = await r.json();
		for (const x of j.records)
			if (x.seq === seq) x.record = tamper(x.record);
		await route.fulfill({ response: r, json: j });
	});
	await ctx.route('**/v1/audit/records/' + seq, async (route) => {
		const r = await route.fetch();
		const j = await r.json();
		j.record = tamper(j.record);
		await route.fulfill({ response: r, json: j });
	});
	page = await ctx.newPage();
	await signIn(page);
	verdict = await page.textContent('#tl-verdict');
	must(/FAIL/.test(verdict) && (await page.getAttribute('#tl-verdict', 'class')) === 'bad', 'tampered timeline: ' + verdict);
	const row = await page.innerText('#records tbody tr[data-seq="' + seq + '"]');
	must(row.includes('\u2717'), 'tampered row: ' + row);
	await page.screenshot({ path: outdir + '/console-tampered-timeline.png', fullPage: true });
	await page.click('#records tbody tr[data-seq="' + seq + '"]');
	await page.waitForSelector('#rec-verdict:has-text("NOT verified")', { timeout: 30000 });
	await page.screenshot({ path: outdir + '/console-tampered-record.png', fullPage: true });
	await ctx.close();
	console.log(JSON.stringify({ ok: true, records_shown: all }));
} finally {
	await browser.close();
}
