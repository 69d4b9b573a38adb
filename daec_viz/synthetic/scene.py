"""Scenes of the bundled demo: people drawn with Pillow over varied backgrounds.

Poses come from a small 3-D skeleton (yaw, lean, arm and leg angles) projected
orthographically: standing, walking, arms raised, reaching, seated-ish, at different
scales and positions, some partly out of frame, some overlapping each other or hidden
behind foreground objects. :func:`render_image` draws one image from a seeded generator
and returns its JPEG bytes, its COCO image record and the COCO keypoint annotations of
its people (visibility 2 visible, 1 occluded, 0 unlabelled; ``bbox`` = tight box of the
visible pixels, ``area`` = their number), plus each person's true keypoints
(``_true_xy``, image px, also for unlabelled joints) for the simulated network.

The same generator state gives the same bytes. :mod:`daec_viz.synthetic.demo` assembles
the dataset.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from daec_viz.io.coco_format import COCO_KEYPOINT_NAMES

JPEG_QUALITY = 88

K = len(COCO_KEYPOINT_NAMES)
(NOSE, L_EYE, R_EYE, L_EAR, R_EAR, L_SHO, R_SHO, L_ELB, R_ELB, L_WRI, R_WRI,
 L_HIP, R_HIP, L_KNE, R_KNE, L_ANK, R_ANK) = range(K)
FACE = (NOSE, L_EYE, R_EYE, L_EAR, R_EAR)

# Body proportions as fractions of the standing height.
_P = {"head_r": 0.062, "neck": 0.075, "torso": 0.29, "shoulder": 0.115, "hip": 0.075,
      "upper_arm": 0.165, "forearm": 0.15, "thigh": 0.235, "shin": 0.225, "sole": 0.025}
_SKIN = [(241, 194, 167), (224, 172, 105), (198, 134, 66), (141, 85, 36), (92, 58, 40),
         (255, 219, 172)]
_HAIR = [(30, 20, 15), (70, 45, 25), (120, 80, 40), (200, 170, 110), (90, 90, 90),
         (15, 15, 15)]


# --------------------------------------------------------------------------- poses

def _limb_dir(abduction: float, flexion: float, side: float) -> np.ndarray:
    """Unit vector in the body frame (X = person's left, Y = down, Z = forward).

    ``abduction`` (rad) swings the limb sideways away from the body (0 = hanging down,
    π = straight up); ``flexion`` (rad) then swings it forward. ``side`` = +1 left, -1 right.
    """
    x, y = side * math.sin(abduction), math.cos(abduction)
    return np.array([x, y * math.cos(flexion), y * math.sin(flexion)])


def _random_pose(rng: np.random.Generator) -> tuple[np.ndarray, str]:
    """(17, 3) joints in the body frame, unit = standing height, pelvis at 0; pose kind."""
    kind = rng.choice(["standing", "walking", "arms_raised", "reaching", "seated"],
                      p=[0.3, 0.28, 0.14, 0.14, 0.14])
    j = np.zeros((K, 3))
    rad = np.radians
    lean_f = rad(rng.normal(4, 6))           # forward lean of the torso
    lean_s = rad(rng.normal(0, 5))           # sideways lean
    up = np.array([-math.sin(lean_s), -math.cos(lean_s) * math.cos(lean_f),
                   math.cos(lean_s) * math.sin(lean_f)])
    lateral = np.array([math.cos(lean_s), -math.sin(lean_s), 0.0])
    hip_w = _P["hip"] * rng.uniform(0.9, 1.15)
    sho_w = _P["shoulder"] * rng.uniform(0.9, 1.15)
    j[L_HIP], j[R_HIP] = hip_w * np.array([1, 0, 0]), hip_w * np.array([-1, 0, 0])
    neck = _P["torso"] * rng.uniform(0.95, 1.05) * up
    j[L_SHO] = neck + sho_w * lateral + 0.02 * -up
    j[R_SHO] = neck - sho_w * lateral + 0.02 * -up
    # head: tilt and turn relative to the torso
    head_c = neck + _P["neck"] * up + np.array([0, 0, rng.normal(0.01, 0.01)])
    turn = rad(rng.normal(0, 20))
    nod = rad(rng.normal(5, 10))
    r = _P["head_r"]

    def on_head(az: float, el: float, rr: float = 1.0) -> np.ndarray:
        a = az + turn
        e = el + nod
        return head_c + r * rr * np.array([math.sin(a) * math.cos(e), math.sin(e),
                                           math.cos(a) * math.cos(e)])

    j[NOSE] = on_head(0.0, 0.25, 1.05)
    j[L_EYE], j[R_EYE] = on_head(0.45, -0.1, 0.95), on_head(-0.45, -0.1, 0.95)
    j[L_EAR], j[R_EAR] = on_head(1.45, 0.0), on_head(-1.45, 0.0)

    n = rng.normal
    if kind == "standing":
        arm = [(rad(abs(n(10, 8))), rad(n(5, 10)), rad(n(15, 15))) for _ in range(2)]
        leg = [(rad(abs(n(4, 3))), rad(n(0, 5)), rad(abs(n(3, 5)))) for _ in range(2)]
    elif kind == "walking":
        s = rad(rng.uniform(15, 32)) * rng.choice([-1, 1])
        arm = [(rad(abs(n(8, 5))), -0.8 * s * sgn, rad(rng.uniform(10, 45)))
               for sgn in (1, -1)]
        leg = [(rad(abs(n(3, 2))), s * sgn, rad(rng.uniform(5, 35)) * (sgn < 0) + rad(5))
               for sgn in (1, -1)]
    elif kind == "arms_raised":
        arm = [(rad(rng.uniform(110, 175)), rad(n(0, 15)), rad(rng.uniform(0, 50)))
               for _ in range(2)]
        leg = [(rad(abs(n(6, 4))), rad(n(0, 6)), rad(abs(n(3, 5)))) for _ in range(2)]
    elif kind == "reaching":
        reach = int(rng.integers(2))
        arm = []
        for a in range(2):
            if a == reach:
                arm.append((rad(rng.uniform(10, 60)), rad(rng.uniform(50, 110)),
                            rad(rng.uniform(0, 30))))
            else:
                arm.append((rad(abs(n(12, 8))), rad(n(0, 15)), rad(rng.uniform(0, 60))))
        leg = [(rad(abs(n(7, 4))), rad(n(0, 10)), rad(abs(n(5, 8)))) for _ in range(2)]
    else:  # seated-ish: thighs forward, shins down
        arm = [(rad(abs(n(15, 8))), rad(rng.uniform(10, 50)), rad(rng.uniform(20, 80)))
               for _ in range(2)]
        leg = [(rad(abs(n(8, 5))), rad(rng.uniform(60, 95)), rad(rng.uniform(60, 100)))
               for _ in range(2)]

    for side, (sho, elb, wri), (abd, flex, bend) in ((1.0, (L_SHO, L_ELB, L_WRI), arm[0]),
                                                      (-1.0, (R_SHO, R_ELB, R_WRI), arm[1])):
        j[elb] = j[sho] + _P["upper_arm"] * _limb_dir(abd, flex, side)
        j[wri] = j[elb] + _P["forearm"] * _limb_dir(abd * 0.9, flex + bend, side)
    for side, (hip, kne, ank), (abd, flex, bend) in ((1.0, (L_HIP, L_KNE, L_ANK), leg[0]),
                                                      (-1.0, (R_HIP, R_KNE, R_ANK), leg[1])):
        j[kne] = j[hip] + _P["thigh"] * _limb_dir(abd, flex, side)
        j[ank] = j[kne] + _P["shin"] * _limb_dir(abd * 0.5, flex - bend, side)
    return j, str(kind)


def _yaw_matrix(yaw: float) -> np.ndarray:
    c, s = math.cos(yaw), math.sin(yaw)
    # rotation about the vertical (Y) axis; after it, +X = image right, +Z = toward camera
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


# --------------------------------------------------------------------------- drawing

@dataclass
class _Person:
    xy: np.ndarray          # (17, 2) image px, true projected positions
    depth: np.ndarray       # (17,) toward the camera, in standing heights
    head: tuple[float, float, float]   # centre x, y and radius, image px
    head_depth: float
    height: float           # standing height, image px
    yaw: float
    colors: dict
    kind: str


def _make_person(rng: np.random.Generator, img_w: int, img_h: int, t: float) -> _Person:
    """A person at relative distance t (0 far .. 1 near) placed in a w x h image."""
    joints, kind = _random_pose(rng)
    yaw = float(rng.choice([rng.normal(0, 0.5), rng.normal(math.pi, 0.5),
                            rng.uniform(0, 2 * math.pi)], p=[0.45, 0.2, 0.35]))
    rot = _yaw_matrix(yaw)
    p3 = joints @ rot.T
    height = img_h * (0.38 + 0.62 * t) * rng.uniform(0.85, 1.12)
    lowest = max(p3[L_ANK, 1], p3[R_ANK, 1]) + _P["sole"]
    feet_y = img_h * (0.64 + 0.42 * t + rng.normal(0, 0.04))
    cx = (rng.uniform(0.1, 0.9) if rng.random() < 0.8 else rng.uniform(-0.1, 1.1)) * img_w
    xy = np.stack([cx + p3[:, 0] * height, feet_y + (p3[:, 1] - lowest) * height], axis=1)
    # head centre: midway between the ears, slightly above the eyes
    hc3 = (p3[L_EAR] + p3[R_EAR]) / 2.0
    hx = cx + hc3[0] * height
    hy = feet_y + (hc3[1] - lowest) * height
    skin = _SKIN[int(rng.integers(len(_SKIN)))]
    colors = {
        "skin": skin,
        "hair": _HAIR[int(rng.integers(len(_HAIR)))],
        "shirt": tuple(int(v) for v in rng.integers(20, 236, 3)),
        "pants": tuple(int(v) for v in rng.integers(10, 160, 3)),
        "shoes": tuple(int(v) for v in rng.integers(0, 80, 3)),
        "sleeve": bool(rng.random() < 0.5),
    }
    return _Person(xy=xy, depth=p3[:, 2], head=(hx, hy, _P["head_r"] * height * 1.05),
                   head_depth=float(hc3[2]), height=height, yaw=yaw, colors=colors,
                   kind=kind)


def _shade(color: tuple, f: float) -> tuple[int, int, int]:
    return tuple(int(max(0, min(255, c * f))) for c in color)  # type: ignore[return-value]


def _person_parts(p: _Person) -> list[tuple[float, str, Any, Any, Any]]:
    """Drawing primitives (depth, kind, geometry, color, width), to draw far to near."""
    xy, d, h = p.xy, p.depth, p.height
    c = p.colors
    parts: list[tuple[float, str, Any, Any, Any]] = []
    torso_depth = float(d[[L_SHO, R_SHO, L_HIP, R_HIP]].mean())

    def limb(a: int, b: int, color: tuple, width: float, bias: float = 0.0) -> None:
        dep = float((d[a] + d[b]) / 2) + bias
        far = dep < torso_depth
        parts.append((dep, "line", (tuple(xy[a]), tuple(xy[b])),
                      _shade(color, 0.78 if far else 1.0), width))

    arm_w, leg_w = 0.06 * h, 0.08 * h
    for s, e in ((L_SHO, L_ELB), (R_SHO, R_ELB)):
        limb(s, e, c["shirt"], arm_w)
    for e, wr in ((L_ELB, L_WRI), (R_ELB, R_WRI)):
        limb(e, wr, c["shirt"] if c["sleeve"] else c["skin"], arm_w * 0.85, 0.001)
    for hp, kn in ((L_HIP, L_KNE), (R_HIP, R_KNE)):
        limb(hp, kn, c["pants"], leg_w)
    for kn, an in ((L_KNE, L_ANK), (R_KNE, R_ANK)):
        limb(kn, an, c["pants"], leg_w * 0.85, 0.001)
    # hands and feet
    for wr in (L_WRI, R_WRI):
        parts.append((float(d[wr]) + 0.002, "dot", tuple(xy[wr]), c["skin"], arm_w * 0.55))
    for an in (L_ANK, R_ANK):
        parts.append((float(d[an]) + 0.002, "dot", tuple(xy[an] + [0, 0.012 * h]),
                      c["shoes"], leg_w * 0.55))
    # torso: quadrilateral shoulders-hips, widened a little
    quad = xy[[L_SHO, R_SHO, R_HIP, L_HIP]]
    mid = quad.mean(axis=0)
    quad = mid + (quad - mid) * np.array([1.25, 1.05])
    parts.append((torso_depth, "poly", [tuple(q) for q in quad], c["shirt"], None))
    # neck and head
    neck = (xy[L_SHO] + xy[R_SHO]) / 2
    hx, hy, r = p.head
    parts.append((torso_depth + 0.001, "line", (tuple(neck), (hx, hy)), c["skin"], 0.6 * r))
    parts.append((p.head_depth, "head", (hx, hy, r), c, None))
    return parts


def _draw_parts(draw: ImageDraw.ImageDraw, mask: ImageDraw.ImageDraw,
                parts: list[tuple[float, str, Any, Any, Any]], p: _Person) -> None:
    for _, kind, geo, color, width in sorted(parts, key=lambda q: q[0]):
        if kind == "line":
            w = max(1, int(round(width)))
            for dr, col in ((draw, color), (mask, 255)):
                dr.line(geo, fill=col, width=w)
                for (x, y) in geo:
                    rr = w / 2.0
                    dr.ellipse((x - rr, y - rr, x + rr, y + rr), fill=col)
        elif kind == "dot":
            x, y = geo
            rr = max(1.0, width)
            for dr, col in ((draw, color), (mask, 255)):
                dr.ellipse((x - rr, y - rr * 0.8, x + rr, y + rr * 0.8), fill=col)
        elif kind == "poly":
            for dr, col in ((draw, color), (mask, 255)):
                dr.polygon(geo, fill=col)
        else:  # head: skin disc, hair cap on the top/back, eyes when facing the camera
            x, y, r = geo
            box = (x - r * 0.92, y - r, x + r * 0.92, y + r * 1.05)
            draw.ellipse(box, fill=color["skin"])
            mask.ellipse(box, fill=255)
            facing = math.cos(p.yaw)
            sx = math.sin(p.yaw)
            if facing < -0.3:  # back view: mostly hair
                draw.ellipse((x - r * 0.92, y - r, x + r * 0.92, y + r * 0.9),
                             fill=color["hair"])
            else:
                start = 180 + 40 * sx
                draw.chord(box, start=start - 10, end=start + 190, fill=color["hair"])
                if facing > 0.2 and r > 5:
                    ex = r * 0.33 * facing
                    for sgn in (-1, 1):
                        cxe = x + sgn * ex + sx * r * 0.4
                        draw.ellipse((cxe - r * 0.09, y - r * 0.05, cxe + r * 0.09,
                                      y + r * 0.13), fill=(30, 30, 30))


def _background(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    """(h, w, 3) uint8 background: gradient, room, texture, stripes or tiles."""
    kind = rng.choice(["gradient", "room", "texture", "stripes", "tiles"],
                      p=[0.25, 0.3, 0.2, 0.1, 0.15])
    c1, c2 = rng.uniform(20, 235, 3), rng.uniform(20, 235, 3)
    yy = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
    xx = np.linspace(0, 1, w, dtype=np.float32)[None, :, None]
    if kind == "gradient":
        a = rng.uniform(0, 2 * math.pi)
        t = (math.cos(a) * xx + math.sin(a) * yy)
        t = (t - t.min()) / max(float(t.max() - t.min()), 1e-6)
        img = c1 * (1 - t) + c2 * t
    elif kind == "room":
        horizon = rng.uniform(0.45, 0.7)
        wall = c1 * (1 - 0.3 * yy)
        floor = c2 * (0.6 + 0.4 * (yy - horizon) / (1 - horizon))
        img = np.where(yy < horizon, wall, floor) + 0 * xx
        # floor boards converging to a vanishing point
        vx = rng.uniform(0.2, 0.8)
        ang = np.arctan2(xx - vx, np.maximum(yy - horizon, 1e-3))
        boards = (np.sin(ang * rng.uniform(10, 25)) > 0.85) & (yy > horizon)
        img = np.where(boards, img * 0.8, img)
    elif kind == "texture":
        gh, gw = int(rng.integers(4, 24)), int(rng.integers(4, 24))
        small = rng.uniform(0, 1, (gh, gw)).astype(np.float32)
        t = np.asarray(Image.fromarray((small * 255).astype(np.uint8)).resize(
            (w, h), Image.Resampling.BICUBIC), dtype=np.float32)[..., None] / 255.0
        img = c1 * (1 - t) + c2 * t
    elif kind == "stripes":
        a = rng.uniform(0, math.pi)
        f = rng.uniform(8, 30)
        t = 0.5 + 0.5 * np.sign(np.sin(f * (math.cos(a) * xx * w / h + math.sin(a) * yy)))
        img = c1 * (1 - 0.35 * t) + c2 * 0.35 * t
    else:
        n = rng.uniform(6, 16)
        t = ((np.floor(xx * n * w / h) + np.floor(yy * n)) % 2)
        img = c1 * (1 - 0.3 * t) + c2 * 0.3 * t
    img = img + rng.normal(0, 4, (h, w, 1)).astype(np.float32)
    return np.clip(img, 0, 255).astype(np.uint8)


def _clutter(rng: np.random.Generator, draw: ImageDraw.ImageDraw, w: int, h: int) -> None:
    """A few background objects (boxes, discs, poles) behind the people."""
    for _ in range(int(rng.integers(0, 5))):
        col = tuple(int(v) for v in rng.integers(0, 256, 3))
        x, y = rng.uniform(0, w), rng.uniform(0, h * 0.8)
        s = rng.uniform(0.05, 0.25) * h
        k = rng.integers(3)
        if k == 0:
            draw.rectangle((x, y, x + s, y + s * rng.uniform(0.5, 2)), fill=col)
        elif k == 1:
            draw.ellipse((x, y, x + s, y + s), fill=col)
        else:
            draw.rectangle((x, y, x + s * 0.12, h), fill=col)


def _foreground(rng: np.random.Generator, draw: ImageDraw.ImageDraw,
                mask: ImageDraw.ImageDraw, w: int, h: int) -> None:
    """Sometimes an object in front of the people (a table, a plant, a post)."""
    if rng.random() > 0.22:
        return
    col = tuple(int(v) for v in rng.integers(0, 256, 3))
    k = rng.integers(3)
    if k == 0:      # table / counter across the bottom
        top = rng.uniform(0.62, 0.85) * h
        x0 = rng.uniform(-0.2, 0.5) * w
        geo = (x0, top, x0 + rng.uniform(0.3, 0.8) * w, h)
        draw.rectangle(geo, fill=col)
        mask.rectangle(geo, fill=255)
    elif k == 1:    # plant / blob
        x, y = rng.uniform(0, w), rng.uniform(0.55, 0.95) * h
        r = rng.uniform(0.08, 0.18) * h
        geo = (x - r, y - r, x + r, y + r)
        draw.ellipse(geo, fill=col)
        mask.ellipse(geo, fill=255)
    else:           # post
        x = rng.uniform(0, w)
        pw = rng.uniform(0.03, 0.08) * w
        geo = (x, 0, x + pw, h)
        draw.rectangle(geo, fill=col)
        mask.rectangle(geo, fill=255)


def _visibility(rng: np.random.Generator, p: _Person, own_torso: np.ndarray,
                later: np.ndarray, w: int, h: int) -> np.ndarray:
    """(17,) COCO visibility of a person's joints.

    own_torso: (h, w) bool torso+head mask of the person; later: (h, w) bool pixels
    covered by anything drawn after the person (nearer people, foreground objects).
    """
    xy = p.xy
    inside = (xy[:, 0] >= 0) & (xy[:, 0] <= w - 1) & (xy[:, 1] >= 0) & (xy[:, 1] <= h - 1)
    ix = np.clip(np.round(xy[:, 0]).astype(int), 0, w - 1)
    iy = np.clip(np.round(xy[:, 1]).astype(int), 0, h - 1)
    v = np.full(K, 2)
    # behind the own torso/head: body joints on the far side
    torso_depth = p.depth[[L_SHO, R_SHO, L_HIP, R_HIP]].mean()
    behind = (p.depth < torso_depth - 0.03) & own_torso[iy, ix]
    body = np.ones(K, bool)
    body[list(FACE)] = False
    v[behind & body] = 1
    # face points on the far side of the head
    rel = (p.depth - p.head_depth) / _P["head_r"]
    face_far = np.zeros(K, bool)
    face_far[list(FACE)] = True
    v[face_far & (rel < -0.15)] = 1
    v[np.isin(np.arange(K), [NOSE, L_EYE, R_EYE]) & (rel < -0.3)] = 0
    v[np.isin(np.arange(K), [L_EAR, R_EAR]) & (rel < -0.6)] = 0
    # covered by nearer people / objects: mostly labelled occluded, some not at all
    covered = later[iy, ix]
    v = np.where(covered & (v > 0), np.where(rng.random(K) < 0.85, 1, 0), v)
    # a few unlabelled at random (annotator misses)
    v = np.where(rng.random(K) < 0.02, 0, v)
    v[~inside] = 0
    return v


def render_image(rng: np.random.Generator, image_id: int) -> tuple[bytes, dict,
                                                                    list[dict]]:
    """One image: JPEG bytes, its COCO image record and the annotation records.

    Annotation records carry ``_true_xy`` (17, 2): the true location of every joint
    (also unlabelled ones), which the simulated network uses.
    """
    w = int(rng.integers(20, 31)) * 16                       # 320 .. 480
    h = int(round(w * rng.uniform(0.7, 1.0) / 8)) * 8
    img = Image.fromarray(_background(rng, w, h))
    draw = ImageDraw.Draw(img)
    _clutter(rng, draw, w, h)
    n_people = int(rng.choice([1, 2, 3], p=[0.45, 0.35, 0.2]))
    ts = np.sort(rng.uniform(0, 1, n_people))
    people = [_make_person(rng, w, h, float(t)) for t in ts]
    masks, torsos = [], []
    for p in people:
        m_img = Image.new("L", (w, h), 0)
        _draw_parts(draw, ImageDraw.Draw(m_img), _person_parts(p), p)
        masks.append(np.asarray(m_img) > 0)
        t_img = Image.new("L", (w, h), 0)
        td = ImageDraw.Draw(t_img)
        quad = p.xy[[L_SHO, R_SHO, R_HIP, L_HIP]]
        td.polygon([tuple(q) for q in quad], fill=255)
        hx, hy, r = p.head
        td.ellipse((hx - r, hy - r, hx + r, hy + r), fill=255)
        torsos.append(np.asarray(t_img) > 0)
    fg = Image.new("L", (w, h), 0)
    _foreground(rng, draw, ImageDraw.Draw(fg), w, h)
    fg_mask = np.asarray(fg) > 0

    anns = []
    for i, p in enumerate(people):
        later = fg_mask.copy()
        for m in masks[i + 1:]:
            later |= m
        vis = _visibility(rng, p, torsos[i], later, w, h)
        visible = masks[i] & ~later
        area = int(visible.sum())
        if area == 0:
            continue
        ys, xs = np.nonzero(visible)
        bbox = [float(xs.min()), float(ys.min()), float(xs.max() - xs.min() + 1),
                float(ys.max() - ys.min() + 1)]
        true_xy = np.round(p.xy, 2)
        kp = np.concatenate([np.where(vis[:, None] > 0, true_xy, 0.0), vis[:, None]], axis=1)
        anns.append({"image_id": image_id, "keypoints": kp, "bbox": bbox,
                     "area": float(area), "_true_xy": true_xy, "_pose": p.kind})
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=JPEG_QUALITY)
    record = {"id": image_id, "file_name": f"{image_id:06d}.jpg", "width": w, "height": h}
    return buf.getvalue(), record, anns
