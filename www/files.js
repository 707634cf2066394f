// Photos from the file picker, a folder or a drop, as items for `addPhotos`.
import { ui } from './demo-state.js';
import { askClass } from './actions.js';

/** Files from a picker or a drop; a folder's sub-folder names become classes. */
export async function filesToItems(files) {
  const items = [];
  for (const f of files) {
    const rel = f.webkitRelativePath || f.relPath || '';
    const parts = rel.split('/').filter(Boolean);
    const label = parts.length >= 3 ? parts[parts.length - 2] : ui.selected;
    items.push({ blob: f, label, name: f.name });
  }
  if (items.some((i) => !i.label)) { askClass(); return []; }
  return items;
}

/** Walks dropped folders (webkitGetAsEntry) so that a dropped folder works like the folder picker. */
export async function droppedFiles(dt) {
  const entries = [...(dt.items ?? [])].map((i) => i.webkitGetAsEntry?.()).filter(Boolean);
  if (!entries.length) return [...dt.files];
  const out = [];
  const walk = async (entry, path) => {
    if (entry.isFile) {
      const file = await new Promise((res, rej) => entry.file(res, rej));
      file.relPath = `${path}${file.name}`;
      out.push(file);
    } else if (entry.isDirectory) {
      const reader = entry.createReader();
      for (;;) {
        const batch = await new Promise((res, rej) => reader.readEntries(res, rej));
        if (!batch.length) break;
        for (const e of batch) await walk(e, `${path}${entry.name}/`);
      }
    }
  };
  for (const e of entries) await walk(e, '');
  // A single dropped folder "root/class/x.jpg": relPath has 3 parts; loose files have 1.
  for (const f of out) if (f.relPath.split('/').length === 2) f.relPath = `drop/${f.relPath}`;
  return out;
}

export function dropZone(el, onFiles) {
  el.addEventListener('dragover', (e) => { e.preventDefault(); el.classList.add('over'); });
  el.addEventListener('dragleave', () => el.classList.remove('over'));
  el.addEventListener('drop', async (e) => {
    e.preventDefault();
    el.classList.remove('over');
    onFiles(await droppedFiles(e.dataTransfer));
  });
}

