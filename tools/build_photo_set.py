#!/usr/bin/env python3
"""Build `tuxpaint-photos`, a small labelled photo set for few-shot accuracy benchmarks,
from the Debian package `tuxpaint-stamps-default` (Tux Paint's stamps: cut-out photos with
alpha, sorted into category folders).

Like shared/datasets/build_benchmark_set.py: the package is fetched with `apt-get download`
and unpacked with `dpkg-deb -x` into --work (nothing is installed system-wide, no other host is
contacted), the set is written under --out, and the script refuses to write inside a git work
tree: the images must never be committed.

Classes (each one or more stamp folders, searched recursively):

  birds              animals/birds
  mammals            animals/mammals, animals/marsupials
  fruit              food/fruit
  vegetables         food/vegetables, food/spices (ginger root), plants/mushrooms,
                     plants/eggplant.png, plants/lettuce_bolted.png
  flowers            plants/flowers
  household_objects  household (incl. tools/, arttools/, dishes/)

Photographic stamps only. A stamp PNG is kept when all of these hold (the rule is mechanical;
the drawings it lets through or drops were checked by eye on contact sheets):
  1. no folder on its path is `cartoon` (Tux Paint's own convention for drawn stamps), `toys`
     or `plastic` (photos of toy / plastic replicas of the class);
  2. there is no .svg with the same name (such a PNG is the raster fallback of a vector drawing);
  3. its .dat does not say `colorable` (those are single-colour masks that Tux Paint fills);
  4. its name does not end in `_mirror` (a pre-flipped copy of another stamp);
  5. its flat-fill share is at most 0.5: the share of fully opaque pixels whose 4 neighbours all
     have the same colour (within +-1 per channel). Drawings are large flat fills (0.6-1.0);
     photos carry sensor noise (0.0-0.37 here, even black rhinos and grey flies);
  6. its pixels are not an exact duplicate of a stamp already taken.
At most --cap stamps per class (default 60); when a class has more, they are chosen evenly
spaced over its stamps sorted by package path, so every sub-folder stays represented.

Every image is alpha-composited onto a flat background (--background, default grey 128),
converted to RGB and resized (Lanczos) so its shorter side is --short-side px (default 320),
then written as images/<class>/<sub-path with / as _>.png (prefixed by the source folder's name
in classes that have several). Many stamps are small (the fruit
and vegetables often ~50 px), so those are strongly upscaled and blurrier than the animals:
manifest.json records each stamp's original size; resolution can leak the class.

Output (under --out, default ~/.cache/legonet/datasets):
  tuxpaint-photos/images/<class>/<name>.png
  tuxpaint-photos/manifest.json   classes, counts, selection rule, source package + version +
                                  .deb sha256, licence, per-image entries, skipped stamps
  tuxpaint-photos/CREDITS.txt     the package's copyright file, verbatim, plus the file list
and an entry in OUT/index.json (the list build_benchmark_set.py keeps).

Idempotent: if tuxpaint-photos/manifest.json exists nothing is done (--force rebuilds; needed
after changing --cap / --short-side / --background). The
set is built in a temporary folder and renamed into place, so an interrupted run leaves no
manifest behind. Deterministic: same package version + Pillow/zlib -> byte-identical PNGs.

Usage (needs numpy and Pillow, e.g. the project venv):
  ~/.cache/legonet/venv/bin/python tools/build_photo_set.py
  ~/.cache/legonet/venv/bin/python tools/build_photo_set.py --out DIR --work DIR
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

PACKAGE = "tuxpaint-stamps-default"
SET_NAME = "tuxpaint-photos"
STAMPS = "usr/share/tuxpaint/stamps"
COPYRIGHT = f"usr/share/doc/{PACKAGE}/copyright"

# class -> stamp folders (recursive) or single .png files, relative to STAMPS
CLASSES = {
    "birds": ["animals/birds"],
    "mammals": ["animals/mammals", "animals/marsupials"],
    "fruit": ["food/fruit"],
    "vegetables": ["food/vegetables", "food/spices", "plants/mushrooms",
                   "plants/eggplant.png", "plants/lettuce_bolted.png"],
    "flowers": ["plants/flowers"],
    "household_objects": ["household"],
}
EXCLUDED_DIRS = {"cartoon", "toys", "plastic"}
FLAT_MAX = 0.5
MIN_PER_CLASS = 20  # fail loudly if a package update leaves a class this thin
BACKGROUNDS = {"grey": (128, 128, 128), "white": (255, 255, 255)}


# --------------------------------------------------------------------------
# Debian package (same layout as build_benchmark_set.py: WORK/debs, WORK/root/PKG)
# --------------------------------------------------------------------------

def _run(cmd, cwd=None):
    return subprocess.run(cmd, cwd=cwd, check=True, capture_output=True, text=True)


def sha256_file(p: Path) -> str:
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fetch_deb(pkg: str, work: Path) -> dict:
    debdir = work / "debs"
    debdir.mkdir(parents=True, exist_ok=True)
    debs = sorted(debdir.glob(f"{pkg}_*.deb"))
    if not debs:
        print(f"[apt] apt-get download {pkg} (~160 MB)", file=sys.stderr)
        try:
            _run(["apt-get", "download", pkg], cwd=debdir)
        except subprocess.CalledProcessError as e:
            if os.geteuid() != 0:
                sys.exit(f"apt-get download {pkg} failed (run 'apt-get update' first?):\n{e.stderr}")
            print("[apt] download failed, running apt-get update once", file=sys.stderr)
            _run(["apt-get", "update", "-qq"])
            _run(["apt-get", "download", pkg], cwd=debdir)
        debs = sorted(debdir.glob(f"{pkg}_*.deb"))
    if len(debs) > 1:
        print(f"[apt] several {pkg} .debs in {debdir}; using the last by name: {debs[-1].name}",
              file=sys.stderr)
    deb = debs[-1]
    version = _run(["dpkg-deb", "-f", str(deb), "Version"]).stdout.strip()
    root = work / "root" / pkg
    stamp = root / ".extracted-from"
    if not (stamp.exists() and stamp.read_text() == deb.name):
        if root.exists():
            shutil.rmtree(root)
        root.mkdir(parents=True)
        print(f"[dpkg] dpkg-deb -x {deb.name}", file=sys.stderr)
        _run(["dpkg-deb", "-x", str(deb), str(root)])
        stamp.write_text(deb.name)
    return {"registry": "Debian (apt-get download)", "package": pkg, "version": version,
            "deb": deb.name, "deb_sha256": sha256_file(deb), "root": root}


def package_license(copyright_text: str) -> dict:
    """License and Copyright of the `Files: *` stanza of a DEP-5 copyright file."""
    for stanza in re.split(r"\n\s*\n", copyright_text):
        if re.search(r"^Files:\s*\*\s*$", stanza, re.M):
            lic = re.search(r"^License:\s*(.+)$", stanza, re.M)
            cop = re.search(r"^Copyright:\s*(.+)$", stanza, re.M)
            lic = lic.group(1).strip() if lic else None
            body = re.search(rf"^License:\s*{re.escape(lic)}\s*\n((?: .*\n?)+)", copyright_text, re.M) \
                if lic else None
            later = bool(body and "any later version" in body.group(1))
            return {"license": lic, "or_later": later,
                    "copyright": cop.group(1).strip() if cop else None}
    return {"license": None, "or_later": False, "copyright": None}


# --------------------------------------------------------------------------
# Stamp selection
# --------------------------------------------------------------------------

def flat_fill_share(rgba: np.ndarray) -> float | None:
    """Share of fully opaque interior pixels whose 4 neighbours (all opaque) match within +-1."""
    a = rgba[..., 3]
    rgb = rgba[..., :3].astype(np.int16)
    if min(a.shape) < 3:
        return None
    c = rgb[1:-1, 1:-1]
    opaque = (a[1:-1, 1:-1] == 255) & (a[:-2, 1:-1] == 255) & (a[2:, 1:-1] == 255) \
        & (a[1:-1, :-2] == 255) & (a[1:-1, 2:] == 255)
    same = np.ones(c.shape[:2], bool)
    for n in (rgb[:-2, 1:-1], rgb[2:, 1:-1], rgb[1:-1, :-2], rgb[1:-1, 2:]):
        same &= np.abs(n - c).max(-1) <= 1
    n = int(opaque.sum())
    return float((same & opaque).sum() / n) if n else None


def stamp_pngs(stamps: Path, sources: list[str]) -> list[Path]:
    out = []
    for s in sources:
        p = stamps / s
        if p.is_file():
            out.append(p)
        elif p.is_dir():
            out += [q for q in p.rglob("*.png") if q.is_file()]
        else:
            sys.exit(f"{PACKAGE}: expected {STAMPS}/{s} in the package")
    return sorted(set(out), key=lambda q: q.relative_to(stamps).as_posix())


def english_description(png: Path) -> str | None:
    txt = png.with_suffix(".txt")
    if not txt.exists():
        return None
    first = txt.read_text("utf-8", "replace").splitlines()
    return first[0].strip() if first else None


def evenly_spaced(items: list, k: int) -> list:
    if len(items) <= k:
        return list(items)
    return [items[int(round(i * (len(items) - 1) / (k - 1)))] for i in range(k)] if k > 1 else items[:1]


def select(stamps: Path, cap: int):
    chosen, skipped, seen = {}, [], {}
    for cls, sources in CLASSES.items():
        keep = []
        for p in stamp_pngs(stamps, sources):
            rel = p.relative_to(stamps).as_posix()
            why = None
            dat = p.with_suffix(".dat")
            if EXCLUDED_DIRS & set(p.relative_to(stamps).parts[:-1]):
                why = "in a cartoon/toys/plastic folder"
            elif p.with_suffix(".svg").exists():
                why = "raster twin of an .svg drawing"
            elif dat.exists() and re.search(r"^\s*colorable\s*$", dat.read_text(errors="replace"), re.M):
                why = "colorable (single-colour mask)"
            elif p.stem.endswith("_mirror"):
                why = "pre-mirrored copy of another stamp"
            if why:
                skipped.append({"package_path": f"{STAMPS}/{rel}", "class": cls, "reason": why})
                continue
            with Image.open(p) as im:
                mode, size = im.mode, im.size
                rgba = np.asarray(im.convert("RGBA"))
            flat = flat_fill_share(rgba)
            if flat is not None and flat > FLAT_MAX:
                skipped.append({"package_path": f"{STAMPS}/{rel}", "class": cls,
                                "reason": f"flat-fill share {flat:.3f} > {FLAT_MAX} (drawing)"})
                continue
            h = hashlib.sha256(repr(rgba.shape).encode() + rgba.tobytes()).hexdigest()
            if h in seen:
                skipped.append({"package_path": f"{STAMPS}/{rel}", "class": cls,
                                "reason": f"same pixels as {seen[h]}"})
                continue
            seen[h] = f"{STAMPS}/{rel}"
            keep.append({"rel": rel, "path": p, "mode": mode, "size": size,
                         "flat_fill_share": None if flat is None else round(flat, 4)})
        if len(keep) < MIN_PER_CLASS:
            sys.exit(f"class {cls}: only {len(keep)} photographic stamps (need {MIN_PER_CLASS})")
        picked = evenly_spaced(keep, cap)
        for k in keep:
            if k not in picked:
                skipped.append({"package_path": f"{STAMPS}/{k['rel']}", "class": cls,
                                "reason": f"over the cap of {cap} per class"})
        chosen[cls] = picked
    return chosen, skipped


# --------------------------------------------------------------------------

def render(path: Path, background, short_side: int) -> bytes:
    with Image.open(path) as im:
        rgba = im.convert("RGBA")
    canvas = Image.new("RGBA", rgba.size, background + (255,))
    canvas.alpha_composite(rgba)
    rgb = canvas.convert("RGB")
    w, h = rgb.size
    s = short_side / min(w, h)
    size = (max(1, round(w * s)), max(1, round(h * s)))
    if size != rgb.size:
        rgb = rgb.resize(size, Image.LANCZOS)
    buf = io.BytesIO()
    rgb.save(buf, format="PNG", compress_level=6)
    return buf.getvalue()


def refuse_git(*paths: Path) -> None:
    for p in paths:
        for marker in (p, *p.parents):
            if (marker / ".git").exists():
                sys.exit(f"refusing to write data inside a git work tree ({marker})")


def write_json(p: Path, obj) -> None:
    p.write_text(json.dumps(obj, indent=1, ensure_ascii=False) + "\n")


def du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("~/.cache/legonet/datasets").expanduser(),
                    help="datasets folder; the set goes to OUT/%s (default ~/.cache/legonet/datasets)" % SET_NAME)
    ap.add_argument("--work", type=Path, default=Path("~/.cache/legonet/datasets-work").expanduser(),
                    help="download/unpack cache (WORK/debs keeps the .deb for re-runs)")
    ap.add_argument("--cap", type=int, default=60, help="most images per class (default 60)")
    ap.add_argument("--short-side", type=int, default=320, help="shorter side in px (default 320)")
    ap.add_argument("--background", choices=sorted(BACKGROUNDS), default="grey",
                    help="colour the alpha is composited onto (default grey = 128,128,128)")
    ap.add_argument("--force", action="store_true", help="rebuild even if the manifest exists")
    ap.add_argument("--keep-unpacked", action="store_true",
                    help="keep WORK/root/%s (230 MB unpacked) instead of deleting it" % PACKAGE)
    args = ap.parse_args()
    if args.cap < 1 or args.short_side < 1:
        sys.exit("--cap and --short-side must be positive")

    out = args.out.expanduser().resolve()
    work = args.work.expanduser().resolve()
    refuse_git(out, work)
    dst = out / SET_NAME
    if (dst / "manifest.json").exists() and not args.force:
        print(f"{SET_NAME}: {dst / 'manifest.json'} exists, nothing to do (--force rebuilds)")
        return

    t0 = time.monotonic()
    out.mkdir(parents=True, exist_ok=True)
    info = fetch_deb(PACKAGE, work)
    root = info.pop("root")
    stamps = root / STAMPS
    copyright_text = (root / COPYRIGHT).read_text("utf-8", "replace")
    lic = package_license(copyright_text)

    chosen, skipped = select(stamps, args.cap)
    tmp = out / f".{SET_NAME}.tmp"
    if tmp.exists():
        shutil.rmtree(tmp)
    (tmp / "images").mkdir(parents=True)
    bg = BACKGROUNDS[args.background]
    entries = []
    for cls, items in chosen.items():
        (tmp / "images" / cls).mkdir()
        sources = CLASSES[cls]
        for it in items:
            # name: path below the class's source folder, '/' -> '_'; a class with several
            # sources prefixes the source folder's own name (food/vegetables/eggplant.png ->
            # vegetables_eggplant.png, plants/eggplant.png -> plants_eggplant.png)
            rel = it["rel"]
            base = next((s for s in sources if rel.startswith(s + "/")), None)
            if base is None:  # a single-file source
                base = rel.rsplit("/", 1)[0]
            name = rel[len(base) + 1:]
            if len(sources) > 1:
                name = base.rsplit("/", 1)[-1] + "/" + name
            name = name.replace("/", "_")
            png = render(it["path"], bg, args.short_side)
            f = f"images/{cls}/{name}"
            assert not (tmp / f).exists(), f
            (tmp / f).write_bytes(png)
            with Image.open(io.BytesIO(png)) as im:
                w, h = im.size
            entries.append({"file": f, "class": cls, "package_path": f"{STAMPS}/{rel}",
                            "description": english_description(it["path"]),
                            "original_width": it["size"][0], "original_height": it["size"][1],
                            "original_mode": it["mode"], "width": w, "height": h,
                            "bytes": len(png), "sha256": hashlib.sha256(png).hexdigest(),
                            "flat_fill_share": it["flat_fill_share"]})

    classes = list(CLASSES)
    lic_str = lic["license"] + ("+ (GPL version 2 or any later version)" if lic["or_later"] else "") \
        if lic["license"] else None
    manifest = {
        "name": SET_NAME,
        "description": "Photographic Tux Paint stamps (cut-out photos) in 6 classes, alpha composited "
                       f"onto {args.background} {bg}, RGB PNG, shorter side {args.short_side} px",
        "source": {**info, "stamps_dir": STAMPS},
        "license": f"{lic_str}; {lic['copyright']} (from {COPYRIGHT}, the package's only licence "
                   "statement: no per-image licences are given). Copyleft: do not ship these images "
                   "as permissively licensed demo samples.",
        "license_id": lic["license"],
        "license_or_later": lic["or_later"],
        "copyright": lic["copyright"],
        "classes": classes,
        "class_sources": {c: [f"{STAMPS}/{s}" for s in v] for c, v in CLASSES.items()},
        "counts": {c: sum(e["class"] == c for e in entries) for c in classes},
        "total_images": len(entries),
        "selection": {
            "rule": "PNG stamps under the class folders, minus: any path folder named "
                    f"{sorted(EXCLUDED_DIRS)}; PNGs with a same-named .svg; .dat says 'colorable'; "
                    f"names ending '_mirror'; flat-fill share > {FLAT_MAX} (share of fully opaque pixels "
                    "whose 4 neighbours all match within +-1: drawings); exact pixel duplicates",
            "cap_per_class": args.cap,
            "cap_rule": "if a class has more than cap stamps, cap of them evenly spaced over the "
                        "package-path-sorted list",
        },
        "processing": {"background": list(bg), "short_side": args.short_side, "resample": "LANCZOS",
                       "format": "PNG RGB", "pillow": Image.__version__, "numpy": np.__version__},
        "caveat": "original stamp sizes differ by class (fruit/vegetables are often ~50 px, animals "
                  "~200 px), so after resizing the small ones are blurrier; see original_* per entry",
        "layout": {"images/<class>/<path below the class folder, / as _>.png": "one per stamp; classes with "
                   "several source folders prefix the folder name"},
        "entries": entries,
        "skipped": skipped,
    }
    write_json(tmp / "manifest.json", manifest)
    with open(tmp / "CREDITS.txt", "w") as f:
        f.write(f"{SET_NAME}: images derived from Tux Paint stamps, Debian package {PACKAGE} "
                f"{info['version']} ({info['deb']}).\n"
                f"Licence: {lic_str}. {lic['copyright']}.\n"
                "Every image is a stamp PNG alpha-composited onto a flat background and resized; "
                "the stamp each came from is listed below.\n\n"
                f"---- {COPYRIGHT} (verbatim) ----\n")
        f.write(copyright_text if copyright_text.endswith("\n") else copyright_text + "\n")
        f.write("---- end of copyright file ----\n\nFiles:\n")
        for e in entries:
            f.write(f"{e['file']}  <-  {e['package_path']}\n")

    if dst.exists():
        shutil.rmtree(dst)
    tmp.rename(dst)
    if not args.keep_unpacked:
        shutil.rmtree(root, ignore_errors=True)  # keep only the downloaded .deb

    built = {"name": SET_NAME, "dir": str(dst), "images": len(entries), "classes": len(classes),
             "bytes_on_disk": du(dst)}
    index_path = out / "index.json"
    index = json.loads(index_path.read_text()) if index_path.exists() else []
    write_json(index_path, [i for i in index if i.get("name") != SET_NAME] + [built])
    print(f"{SET_NAME}: {len(entries)} images, {len(classes)} classes "
          f"({', '.join(f'{c} {n}' for c, n in manifest['counts'].items())}), "
          f"{built['bytes_on_disk'] / 1e6:.1f} MB, {time.monotonic() - t0:.1f} s -> {dst}")


if __name__ == "__main__":
    main()
