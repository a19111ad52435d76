"""Renders scenes: textured irregular objects composited over photographic backgrounds.

An object is an outline (a closed polygon in unit coordinates, about radius 1) filled with a crop
of a photo, shaded (a light gradient and a darker rim, so it reads as a solid thing) and casting a
soft shadow. A frame is: background crop (camera pan + shake), then each layer in depth order
(annotated objects and unannotated occluders), each under an affine pose plus a smooth non-rigid
warp shared by its outline and its texture, with optional motion blur; then global lighting,
sensor noise. The ground truth is exact: each pixel's label is the top-most layer whose final
(blurred, antialiased) alpha is >= 0.5, occluders write 0.

Everything is a pure function of numpy Generators seeded by the caller: same seed, same pixels.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np

cv2.setNumThreads(1)
SS = 4  # outline supersampling


# ---------------------------------------------------------------------------- outlines

def _catmull_rom(pts: np.ndarray, n_per: int = 12) -> np.ndarray:
    """Closed Catmull-Rom spline (a cubic Bezier chain) through pts [N, 2]."""
    p0, p1, p2, p3 = np.roll(pts, 1, 0), pts, np.roll(pts, -1, 0), np.roll(pts, -2, 0)
    t = np.linspace(0, 1, n_per, endpoint=False)[None, :, None]
    a = 2 * p1[:, None]
    b = (p2 - p0)[:, None] * t
    c = (2 * p0 - 5 * p1 + 4 * p2 - p3)[:, None] * t ** 2
    d = (-p0 + 3 * p1 - 3 * p2 + p3)[:, None] * t ** 3
    return (0.5 * (a + b + c + d)).reshape(-1, 2)


@dataclass
class Outline:
    """A closed outline as a function of time: radial Fourier blob, superellipse, smoothed polygon,
    or a union of blobs. Parameters drift over time (non-rigid shape change)."""
    kind: str
    params: dict

    @staticmethod
    def random(rng: np.random.Generator) -> "Outline":
        kind = rng.choice(["blob", "superellipse", "bezier", "multi"], p=[0.3, 0.2, 0.35, 0.15])
        p: dict = {}
        if kind in ("blob", "multi"):
            n = int(rng.integers(3, 8))
            p["k"] = np.arange(1, n + 1)
            p["amp"] = rng.uniform(0, 0.28, n) / np.sqrt(p["k"])
            p["phase"] = rng.uniform(0, 2 * np.pi, n)
            p["omega"] = rng.uniform(-1, 1, n)
        if kind == "multi":
            m = int(rng.integers(2, 4))
            p["centres"] = rng.uniform(-0.55, 0.55, (m, 2))
            p["radii"] = rng.uniform(0.35, 0.6, m)
            p["sub"] = [Outline.random_blob(rng) for _ in range(m)]
        if kind == "superellipse":
            p["n"] = float(rng.choice([rng.uniform(0.7, 1.6), rng.uniform(2, 5)]))
            p["ab"] = (1.0, float(rng.uniform(0.45, 1.0)))
            p["wob"] = rng.uniform(0, 0.06, 4)
            p["wphase"] = rng.uniform(0, 2 * np.pi, 4)
        if kind == "bezier":
            n = int(rng.integers(4, 10))
            ang = np.sort(rng.uniform(0, 2 * np.pi, n)) if rng.random() < 0.5 else \
                np.linspace(0, 2 * np.pi, n, endpoint=False) + rng.uniform(-0.3, 0.3, n)
            p["ang"] = ang
            p["rad"] = rng.uniform(0.45, 1.0, n)
            p["omega"] = rng.uniform(-1, 1, n)
            p["phase"] = rng.uniform(0, 2 * np.pi, n)
        return Outline(str(kind), p)

    @staticmethod
    def random_blob(rng: np.random.Generator) -> dict:
        n = int(rng.integers(2, 6))
        k = np.arange(1, n + 1)
        return {"k": k, "amp": rng.uniform(0, 0.25, n) / np.sqrt(k), "phase": rng.uniform(0, 2 * np.pi, n),
                "omega": rng.uniform(-1, 1, n)}

    @staticmethod
    def _blob(p: dict, t: float, morph: float, n: int = 160) -> np.ndarray:
        th = np.linspace(0, 2 * np.pi, n, endpoint=False)
        r = 1 + (p["amp"][None] * np.cos(p["k"][None] * th[:, None] + p["phase"][None]
                                          + morph * p["omega"][None] * t)).sum(1)
        r = np.maximum(r, 0.25)
        return np.stack([r * np.cos(th), r * np.sin(th)], 1)

    def polygons(self, t: float = 0.0, morph: float = 0.0) -> list[np.ndarray]:
        """Closed polygons [N, 2] in unit coordinates at time t (seconds-like units);
        morph scales how fast the outline changes (0 = rigid)."""
        p = self.params
        if self.kind == "blob":
            pts = self._blob(p, t, morph)
            return [pts / max(1e-6, np.abs(pts).max())]
        if self.kind == "multi":
            polys = [p["centres"][i] + p["radii"][i] * self._blob(s, t, morph, 96) for i, s in enumerate(p["sub"])]
            s = max(np.abs(q).max() for q in polys)
            return [q / s for q in polys]
        if self.kind == "superellipse":
            th = np.linspace(0, 2 * np.pi, 200, endpoint=False)
            c, s_ = np.cos(th), np.sin(th)
            e = 2 / p["n"]
            x = p["ab"][0] * np.sign(c) * np.abs(c) ** e
            y = p["ab"][1] * np.sign(s_) * np.abs(s_) ** e
            w = 1 + sum(p["wob"][i] * np.cos((i + 2) * th + p["wphase"][i] + morph * t) for i in range(4))
            return [np.stack([x * w, y * w], 1)]
        # bezier: smoothed random polygon, vertex radii breathing over time
        r = p["rad"] * (1 + 0.15 * morph * np.sin(p["omega"] * t + p["phase"]))
        pts = np.stack([r * np.cos(p["ang"]), r * np.sin(p["ang"])], 1)
        pts = _catmull_rom(pts)
        return [pts / max(1e-6, np.abs(pts).max())]


# ---------------------------------------------------------------------------- objects

@dataclass
class Sprite:
    """An object's look: outline, texture (a photo crop), shading, shadow."""
    outline: Outline
    texture: np.ndarray                  # [T, T, 3] float32 0..1, covers unit coords [-1.15, 1.15]
    light: np.ndarray                    # light direction in unit coords (2,) and strength
    rim: float                           # rim darkening 0..0.45
    shadow: tuple[float, float, float]   # (dx, dy) in radius units, opacity
    warp_amp: float                      # non-rigid warp amplitude (unit coords)
    warp_freq: np.ndarray                # (2, 2) wave vectors
    warp_phase: np.ndarray               # (2,)
    morph: float                         # outline morph speed

    @staticmethod
    def random(rng: np.random.Generator, photos: list[np.ndarray], exclude: int | None = None,
               tex_size: int = 256, nonrigid: bool = True, photo: int | None = None) -> "Sprite":
        """`photo` forces the texture's source photo (a distractor textured like another object)."""
        idx = [i for i in range(len(photos)) if i != exclude] or list(range(len(photos)))
        photo = photos[photo if photo is not None else int(rng.choice(idx))]
        tex = random_crop(rng, photo, tex_size, tex_size, scale=(0.15, 0.7))
        tex = color_jitter(rng, tex, strength=0.25)
        if rng.random() < 0.3:  # stripes, spots: printed or patterned objects
            tex = pattern_overlay(rng, tex)
        ang = rng.uniform(0, 2 * np.pi)
        return Sprite(
            outline=Outline.random(rng),
            texture=tex,
            light=np.array([math.cos(ang), math.sin(ang), rng.uniform(0.05, 0.35)]),
            rim=float(rng.uniform(0.0, 0.4)),
            shadow=(float(rng.uniform(-0.25, 0.25)), float(rng.uniform(0.0, 0.3)), float(rng.uniform(0.0, 0.55))),
            warp_amp=float(rng.uniform(0.0, 0.12)) if nonrigid else 0.0,
            warp_freq=rng.uniform(1.0, 3.0, (2, 2)) * rng.choice([-1, 1], (2, 2)),
            warp_phase=rng.uniform(0, 2 * np.pi, 2),
            morph=float(rng.uniform(0.3, 1.5)) if nonrigid else 0.0,
        )


@dataclass
class Pose:
    cx: float
    cy: float
    radius: float      # pixels
    angle: float       # radians
    aspect: float = 1.0
    t: float = 0.0     # time, drives the non-rigid warp and outline morph
    vx: float = 0.0    # image-space velocity (pixels per frame) for motion blur
    vy: float = 0.0


def _warp(sp: Sprite, u: np.ndarray, t: float, sign: float) -> np.ndarray:
    """Smooth displacement of unit coordinates u [..., 2]."""
    if sp.warp_amp == 0:
        return u
    ph = u @ sp.warp_freq.T + sp.warp_phase + 1.3 * t
    return u + sign * sp.warp_amp * np.sin(ph[..., ::-1])


def render_sprite(sp: Sprite, pose: Pose, frame_hw: tuple[int, int]):
    """Returns (x0, y0, rgb [h, w, 3], alpha [h, w], shadow [h, w]) for the object's bounding
    region clipped to the frame, or None if it lies entirely outside."""
    H, W = frame_hw
    ca, sa = math.cos(pose.angle), math.sin(pose.angle)
    sx, sy = pose.radius * pose.aspect, pose.radius / pose.aspect
    polys = []
    for q in sp.outline.polygons(pose.t, sp.morph):
        q = _warp(sp, q, pose.t, +1.0)
        x = q[:, 0] * sx
        y = q[:, 1] * sy
        polys.append(np.stack([pose.cx + ca * x - sa * y, pose.cy + sa * x + ca * y], 1))
    allp = np.concatenate(polys)
    blur = math.hypot(pose.vx, pose.vy)
    pad = int(blur) + 3
    x0 = int(math.floor(allp[:, 0].min())) - pad
    y0 = int(math.floor(allp[:, 1].min())) - pad
    x1 = int(math.ceil(allp[:, 0].max())) + pad
    y1 = int(math.ceil(allp[:, 1].max())) + pad
    if x1 <= 0 or y1 <= 0 or x0 >= W or y0 >= H:
        return None
    h, w = y1 - y0, x1 - x0
    # alpha: supersampled fill, area-downsampled
    big = np.zeros((h * SS, w * SS), np.uint8)
    cv2.fillPoly(big, [np.round((p - [x0, y0]) * SS * 16).astype(np.int32) for p in polys], 255,
                 lineType=cv2.LINE_8, shift=4)
    alpha = cv2.resize(big, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    # texture: frame pixel -> unit coords (inverse pose, approximate inverse warp) -> texture pixel
    gx, gy = np.meshgrid(np.arange(x0, x1, dtype=np.float32) + 0.5, np.arange(y0, y1, dtype=np.float32) + 0.5)
    dx, dy = gx - pose.cx, gy - pose.cy
    u = np.stack([(ca * dx + sa * dy) / sx, (-sa * dx + ca * dy) / sy], -1)
    u = _warp(sp, u, pose.t, -1.0).astype(np.float32)
    T = sp.texture.shape[0]
    mapx = (u[..., 0] / 2.3 + 0.5) * T
    mapy = (u[..., 1] / 2.3 + 0.5) * T
    rgb = cv2.remap(sp.texture, mapx, mapy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    # shading: light gradient across the object, darker rim
    shade = 1 + sp.light[2] * (u[..., 0] * sp.light[0] + u[..., 1] * sp.light[1])
    if sp.rim > 0:
        k = max(3, int(pose.radius * 0.35) | 1)
        inner = cv2.GaussianBlur(alpha, (k, k), 0)
        shade = shade * (1 - sp.rim + sp.rim * np.clip(inner * 1.6 - 0.3, 0, 1))
    rgb = np.clip(rgb * shade[..., None], 0, 1)
    shadow = np.zeros_like(alpha)
    if sp.shadow[2] > 0:
        M = np.float32([[1, 0, sp.shadow[0] * pose.radius], [0, 1, sp.shadow[1] * pose.radius]])
        shadow = cv2.warpAffine(alpha, M, (w, h))
        k = max(3, int(pose.radius * 0.25) | 1)
        shadow = cv2.GaussianBlur(shadow, (k, k), 0) * sp.shadow[2]
    if blur >= 1.0:  # motion blur along the velocity, on premultiplied colour and alpha
        n = int(round(blur)) * 2 + 1
        ker = np.zeros((n, n), np.float32)
        c = n // 2
        cv2.line(ker, (int(round(c - pose.vx)), int(round(c - pose.vy))),
                 (int(round(c + pose.vx)), int(round(c + pose.vy))), 1.0, 1)
        ker /= ker.sum()
        pm = cv2.filter2D(rgb * alpha[..., None], -1, ker)
        alpha = cv2.filter2D(alpha, -1, ker)
        rgb = np.where(alpha[..., None] > 1e-4, pm / np.maximum(alpha[..., None], 1e-4), rgb)
    # clip to frame
    cx0, cy0, cx1, cy1 = max(0, x0), max(0, y0), min(W, x1), min(H, y1)
    sl = (slice(cy0 - y0, cy1 - y0), slice(cx0 - x0, cx1 - x0))
    return cx0, cy0, rgb[sl], alpha[sl], shadow[sl]


# ---------------------------------------------------------------------------- photos

def random_crop(rng: np.random.Generator, photo: np.ndarray, w: int, h: int,
                scale: tuple[float, float] = (0.3, 1.0)) -> np.ndarray:
    """A random crop of photo resized to (h, w), as float32 0..1; random horizontal flip."""
    ph, pw = photo.shape[:2]
    s = rng.uniform(*scale)
    cw = min(pw, max(16, int(pw * s)))
    ch = min(ph, max(16, int(cw * h / w)))
    cw = min(pw, int(ch * w / h))
    x = int(rng.integers(0, pw - cw + 1))
    y = int(rng.integers(0, ph - ch + 1))
    crop = photo[y:y + ch, x:x + cw]
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
    interp = cv2.INTER_AREA if cw > w else cv2.INTER_LINEAR
    return cv2.resize(np.ascontiguousarray(crop), (w, h), interpolation=interp).astype(np.float32) / 255.0


def color_jitter(rng: np.random.Generator, img: np.ndarray, strength: float = 0.2) -> np.ndarray:
    gain = 1 + rng.uniform(-strength, strength, 3) * 0.6 + rng.uniform(-strength, strength)
    gray = img.mean(-1, keepdims=True)
    sat = 1 + rng.uniform(-strength, strength) * 2
    out = gray + (img - gray) * sat
    out = out * gain[None, None]
    if rng.random() < 0.5:
        out = np.clip(out, 0, 1) ** rng.uniform(0.7, 1.4)
    return np.clip(out, 0, 1).astype(np.float32)


def pattern_overlay(rng: np.random.Generator, tex: np.ndarray) -> np.ndarray:
    T = tex.shape[0]
    yy, xx = np.mgrid[0:T, 0:T].astype(np.float32) / T
    col = rng.uniform(0, 1, 3).astype(np.float32)
    if rng.random() < 0.5:
        a = rng.uniform(0, np.pi)
        m = (np.sin((xx * math.cos(a) + yy * math.sin(a)) * rng.uniform(8, 30)) > rng.uniform(-0.3, 0.5))
    else:
        pts = rng.uniform(0, 1, (int(rng.integers(5, 30)), 2))
        r = rng.uniform(0.03, 0.09)
        m = np.zeros((T, T), bool)
        for px, py in pts:
            m |= (xx - px) ** 2 + (yy - py) ** 2 < r * r
    mix = rng.uniform(0.4, 0.9)
    out = tex.copy()
    out[m] = out[m] * (1 - mix) + col * mix
    return out


# ---------------------------------------------------------------------------- frames

@dataclass
class Layer:
    sprite: Sprite
    pose: Pose
    label: int          # 1..N annotated object, 0 unannotated occluder


@dataclass
class Look:
    """Per-frame photometric state."""
    gain: float = 1.0
    tint: np.ndarray = field(default_factory=lambda: np.ones(3, np.float32))
    spot: tuple[float, float, float, float] = (0.5, 0.5, 0.6, 0.0)   # cx, cy (fractions), radius, strength
    noise: float = 0.01
    blur: float = 0.0     # global defocus sigma


def compose(bg: np.ndarray, layers: list[Layer], look: Look, rng: np.random.Generator):
    """bg [H, W, 3] float 0..1; layers in back-to-front order. Returns (uint8 RGB, uint8 label map)."""
    H, W = bg.shape[:2]
    img = bg.copy()
    lab = np.zeros((H, W), np.uint8)
    for L in layers:
        r = render_sprite(L.sprite, L.pose, (H, W))
        if r is None:
            continue
        x0, y0, rgb, a, sh = r
        h, w = a.shape
        if h == 0 or w == 0:
            continue
        reg = img[y0:y0 + h, x0:x0 + w]
        reg *= (1 - sh)[..., None]
        reg[:] = reg * (1 - a[..., None]) + rgb * a[..., None]
        lr = lab[y0:y0 + h, x0:x0 + w]
        lr[a >= 0.5] = L.label
    if look.blur > 0.3:
        img = cv2.GaussianBlur(img, (0, 0), look.blur)
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    cx, cy, rad, st = look.spot
    if st != 0:
        d2 = ((xx / W - cx) ** 2 + (yy / H - cy) ** 2) / (rad * rad)
        img = img * (1 + st * (np.exp(-d2) - 0.5))[..., None]
    img = img * look.gain * look.tint[None, None]
    if look.noise > 0:
        img = img + rng.normal(0, look.noise, img.shape).astype(np.float32)
    return (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8), lab


def random_look(rng: np.random.Generator) -> Look:
    return Look(gain=float(rng.uniform(0.75, 1.2)),
                tint=(1 + rng.uniform(-0.08, 0.08, 3)).astype(np.float32),
                spot=(float(rng.uniform(0, 1)), float(rng.uniform(0, 1)), float(rng.uniform(0.3, 0.9)),
                      float(rng.choice([0.0, rng.uniform(-0.4, 0.5)]))),
                noise=float(rng.uniform(0.0, 0.025)),
                blur=float(rng.choice([0.0, 0.0, 0.0, rng.uniform(0.4, 1.0)])))
