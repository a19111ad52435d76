"""Photographic source imagery for the scene generator, read from installed packages.

Every image here ships in a Debian package or in the scikit-image wheel (bundled, no download);
SOURCES.md lists authors and licences. Nothing is copied into the repository: `Scripts/setup_scenes.sh`
installs the packages, and `load_sources` reads them from their installed paths.

Backgrounds and object textures are drawn from disjoint-by-role pools per scene (an object is
never textured with the photo its background comes from), and `split` keeps a held-out subset of
photos that training scenes never use, so evaluation scenes have unseen textures and backgrounds.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
from PIL import Image

PLASMA = "/usr/share/wallpapers/{}/contents/images/1920x1080.jpg"
MATE = "/usr/share/backgrounds/mate/nature/{}.jpg"


def _skimage_dir() -> str:
    import skimage.data

    return os.path.dirname(skimage.data.__file__)


@dataclass(frozen=True)
class Source:
    name: str       # stable identifier, used in metadata and for the split
    path: str
    package: str    # Debian package or PyPI distribution shipping it


def source_list() -> list[Source]:
    sk = _skimage_dir()
    out: list[Source] = []
    for w in ["BytheWater", "ColdRipple", "ColorfulCups", "DarkestHour", "EveningGlow", "FallenLeaf",
              "Grey", "Kite", "OneStandsOut", "Path", "summer_1am"]:
        p = PLASMA.format(w)
        if not os.path.exists(p):   # ColorfulCups ships a single size
            d = os.path.dirname(p)
            p = os.path.join(d, sorted(os.listdir(d))[-1]) if os.path.isdir(d) else p
        out.append(Source(f"plasma/{w}", p, "plasma-workspace-wallpapers"))
    out.append(Source("plasma/Volna", "/usr/share/wallpapers/Volna/contents/images/5120x2880.jpg",
                      "plasma-workspace-wallpapers"))
    for m in ["Aqua", "Blinds", "Dune", "FreshFlower", "Garden", "GreenMeadow", "LadyBird", "RainDrops",
              "Storm", "TwoWings", "Wood", "YellowFlower"]:
        out.append(Source(f"mate/{m}", MATE.format(m), "mate-backgrounds"))
    for f in ["astronaut.png", "brick.png", "chelsea.png", "coffee.png", "grass.png", "gravel.png",
              "rocket.jpg", "camera.png"]:
        out.append(Source(f"skimage/{f.split('.')[0]}", os.path.join(sk, f), "scikit-image"))
    # Added for the second base model (training pool only: appended after the first pool and never held
    # out, so the held-out pool, and the clips made from it, are unchanged).
    for name, pkg in LOMIRI:
        out.append(Source(f"lomiri/{name.split('_by_')[0]}", f"/usr/share/backgrounds/{name}.jpg", pkg))
    return out


# Photographs of Debian's lomiri-wallpapers-16.04 / -20.04 (Ubuntu wallpaper contest pictures, one
# licence per file: SOURCES.md), plus one painted picture for its brush-stroke textures.
LOMIRI = [(n, "lomiri-wallpapers-16.04") for n in [
    "Bridge_by_Sander_Klootwijk", "Dragonfly_by_Bolly", "Picture_0B_by_freespace", "Picture_1A_by_freespace",
    "Wine_by_Jakkub_Mede", "aitzgorri_by_Aitzol_Berasategi", "analogpattern_by_Peter_Nerlich",
    "free_by_Peter_Nerlich", "friends_by_Aitzol_Berasategi", "greentock_by_Peter_Nerlich",
    "life_by_Aitzol_Berasategi", "picosdeeuropa_by_Aitzol_Berasategi", "seeding_by_Clements_Engelhardt",
    "sunset_by_Aitzol_Berasategi"]] + [(n, "lomiri-wallpapers-20.04") for n in [
    "Kleiber_by_Lukas_Baubkus", "Painting-Colors_by__herobrine7gamer"]]


# Held out from training scenes (backgrounds and textures), used by evaluation images and clips.
HELD_OUT = {"plasma/Path", "plasma/EveningGlow", "mate/Garden", "mate/Storm", "skimage/coffee", "skimage/chelsea"}


def load_sources(max_side: int = 1024, split: str = "train") -> list[tuple[str, np.ndarray]]:
    """Returns [(name, HxWx3 uint8 RGB)] for split 'train' (all but HELD_OUT), 'heldout' or 'all'.
    Images are downscaled (area) so their longer side is at most max_side; deterministic."""
    missing = [s for s in source_list() if not os.path.exists(s.path)]
    if missing:
        raise SystemExit("scene sources missing (run Scripts/setup_scenes.sh): "
                         + ", ".join(f"{s.name} ({s.package}: {s.path})" for s in missing))
    out = []
    for s in source_list():
        held = s.name in HELD_OUT
        if (split == "train" and held) or (split == "heldout" and not held):
            continue
        im = Image.open(s.path).convert("RGB")
        w, h = im.size
        f = max_side / max(w, h)
        if f < 1:
            im = im.resize((max(1, round(w * f)), max(1, round(h * f))), Image.Resampling.BOX)
        out.append((s.name, np.asarray(im, dtype=np.uint8).copy()))
    return out
