// The page's sections, one per feature, reachable from the header and deep-linkable by the URL
// hash (#datasets, #overfit, …). Unknown hashes fall back to the first section.

export const SECTIONS = [
  { id: 'datasets', label: 'Datasets' },
  { id: 'overfit', label: 'Overfit test' },
  { id: 'training', label: 'Training' },
  { id: 'diagnostics', label: 'Diagnostics' },
  { id: 'alignments', label: 'Alignments' },
] as const;

export type SectionId = (typeof SECTIONS)[number]['id'];

const known = (h: string): h is SectionId => SECTIONS.some((s) => s.id === h);

export class Navigation {
  current = $state<SectionId>('datasets');

  /** Follows the URL hash from now on; returns the clean-up. */
  follow(): () => void {
    const read = () => {
      const h = location.hash.replace(/^#/, '');
      this.current = known(h) ? h : 'datasets';
    };
    read();
    addEventListener('hashchange', read);
    return () => removeEventListener('hashchange', read);
  }
}
