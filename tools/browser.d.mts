/** A system browser's path, or undefined to use Playwright's own Chromium. */
export function findBrowser(): string | undefined;
