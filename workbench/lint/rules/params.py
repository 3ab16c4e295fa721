"""Parameter rules: guidance, cfg, steps, size and memory (codes FX2xx).

Source: the FLUX guide (seed 000) — guidance 2.0–3.5 (below 1.5 weak, above 5 artifacts),
dev 20–50 steps (grid artifacts at 5–15), schnell 1–4 steps, the VRAM-by-resolution table
— and ComfyUI's FLUX workflows (guidance lives in FluxGuidance; the sampler's cfg stays 1).
"""

from __future__ import annotations

from ..diagnostic import Edit, Fix
from ..registry import Hit, rule

GUIDE = "FLUX guide (seed 000)"
DISTILLED = ("dev", "schnell", "kontext")


def _text(value) -> str:
    if value is None:
        return ""
    return f"{value:g}" if isinstance(value, float) else str(value)


def param_hit(ctx, name: str, message: str, *, fix: Fix | None = None,
              suggestion: str = "", severity: str | None = None) -> Hit:
    """A hit spanning the parameter's own value as `field_text` shows it."""
    value = _text(getattr(ctx.spec.params, name))
    return Hit(name, 0, len(value), message, fix=fix, suggestion=suggestion,
               severity=severity)


def set_param(ctx, name: str, value, description: str, *, safe: bool) -> Fix:
    current = _text(getattr(ctx.spec.params, name))
    return Fix(description, (Edit(name, 0, len(current), _text(value)),), safe=safe)


@rule("negative-prompt", "FX201", "warning",
      needs=("negative",), family="params", fix="unsafe",
      summary="a negative prompt on dev/schnell at cfg 1 has no effect",
      rationale="FLUX dev and schnell are guidance-distilled and run at cfg 1, where the "
                "sampler never evaluates the negative prompt. Put what you want in the "
                "prompt instead.",
      source=f"{GUIDE}: FLUX has no negative prompt at guidance-distilled settings; ComfyUI "
             "FLUX workflows (cfg 1)")
def negative_prompt(ctx):
    negative = ctx.spec.params.negative
    if negative.strip() and ctx.spec.model in DISTILLED and (ctx.param("cfg") or 1.0) <= 1.0:
        yield Hit("negative", 0, len(negative),
                  f"the negative prompt is ignored on {ctx.spec.model} at cfg "
                  f"{ctx.param('cfg') or 1:g}",
                  fix=Fix("clear the negative prompt", (Edit("negative", 0, len(negative), ""),)),
                  suggestion="describe the positive in the prompt instead")


GUIDANCE_GOOD = (2.0, 3.5)
GUIDANCE_WEAK, GUIDANCE_HARSH = 1.5, 5.0


@rule("guidance-range", "FX202", "warning", family="params", fix="safe",
      params=("guidance",),
      summary="dev guidance outside 2.0–3.5; guidance set on schnell",
      rationale="FLUX works best at low guidance: 2.0–3.5 (2.7–3.0 for photoreal). Below "
                "1.5 results are weak; above 5 they get over-cooked, lose detail and show "
                "artifacts. Schnell ignores guidance altogether.",
      source=f"{GUIDE}, \"Guidance Scale\" and \"Optimal parameter values\"")
def guidance_range(ctx):
    guidance = ctx.param("guidance")
    if ctx.spec.model == "schnell":
        if ctx.spec.params.guidance is not None:
            yield param_hit(ctx, "guidance", "schnell ignores guidance",
                            fix=set_param(ctx, "guidance", None, "unset guidance", safe=True))
        return
    if guidance is None or ctx.spec.tools.fill or ctx.spec.tools.control_image:
        return  # Fill / Canny / Depth want far more: the tools family judges those
    low, high = GUIDANCE_GOOD
    if low <= guidance <= high:
        return
    if guidance < GUIDANCE_WEAK:
        why = f"guidance {guidance:g} is below {GUIDANCE_WEAK:g}: weak, washed-out results"
    elif guidance > GUIDANCE_HARSH:
        why = f"guidance {guidance:g} is above {GUIDANCE_HARSH:g}: over-cooked, artifacts"
    else:
        why = f"guidance {guidance:g} is outside the {low:g}–{high:g} FLUX sweet spot"
    target = min(max(guidance, low), high)
    yield param_hit(ctx, "guidance", why,
                    fix=set_param(ctx, "guidance", float(target), f"set guidance {target:g}",
                                  safe=False))


@rule("cfg-above-one", "FX203", "warning", family="params", fix="unsafe",
      params=("cfg",),
      summary="sampler cfg above 1 with FLUX dev/schnell",
      rationale="FLUX dev and schnell are guidance-distilled: a sampler cfg above 1 blurs "
                "and doubles the time (every step runs twice). Keep cfg at 1 and set "
                "guidance (FluxGuidance) instead.",
      source="ComfyUI FLUX text-to-image tutorial (cited in seed 000); seed 002 uses "
             "cfg 1.0 with Flux1-dev")
def cfg_above_one(ctx):
    cfg = ctx.param("cfg")
    if ctx.spec.model in DISTILLED and cfg is not None and cfg > 1.0:
        yield param_hit(ctx, "cfg", f"cfg {cfg:g} on a guidance-distilled model",
                        fix=set_param(ctx, "cfg", 1.0, "set cfg 1", safe=False),
                        suggestion="use guidance for prompt adherence")


STEPS = {"dev": (20, 50), "kontext": (20, 50), "schnell": (1, 4)}


@rule("steps-range", "FX204", "warning", family="params", fix="unsafe",
      params=("steps",),
      summary="dev below 20 steps (grid artifacts) or above 50; schnell above 4",
      rationale="FLUX.1 dev needs at least 20–30 steps; at 5–15 grid patterns and "
                "pixelation appear in smooth areas, and past 50 steps only time grows. "
                "Schnell is distilled for 1–4 steps.",
      source=f"{GUIDE}, \"Number of inference steps\"")
def steps_range(ctx):
    steps = ctx.param("steps")
    if steps is None:
        return
    low, high = STEPS.get(ctx.spec.model, STEPS["dev"])
    if steps < low:
        why = (f"{steps} steps on {ctx.spec.model}: grid artifacts and pixelation"
               if ctx.spec.model != "schnell" else f"{steps} steps: at least 1 is needed")
        target = low if ctx.spec.model == "schnell" else 28
    elif steps > high:
        why = (f"{steps} steps on schnell, which is distilled for 1–4"
               if ctx.spec.model == "schnell" else f"{steps} steps: past {high} only time "
               "grows")
        target = high if ctx.spec.model == "schnell" else 50
    else:
        return
    yield param_hit(ctx, "steps", why,
                    fix=set_param(ctx, "steps", target, f"set {target} steps", safe=False))


MIN_MP, MAX_MP, MAX_ASPECT = 0.25, 2.1, 2.4


def _round16(value: int) -> int:
    return max(16, int(round(value / 16)) * 16)


@rule("resolution", "FX205", "warning", family="params", fix="safe",
      params=("width", "height"),
      summary="width/height not multiples of 16, above ~2 MP or below ~0.25 MP, extreme "
              "aspect ratio",
      rationale="FLUX works on 16-pixel patches (8x VAE, 2x2 packing): other sizes are "
                "cropped or padded. It was trained around 0.25–2 MP (512² to 1920x1080); "
                "far outside that, and past ~21:9, composition breaks down.",
      source=f"{GUIDE}, \"Resolution and aspect ratio\"; ComfyUI FLUX tutorial")
def resolution(ctx):
    width, height = ctx.param("width"), ctx.param("height")
    if not width or not height or width <= 0 or height <= 0:
        return
    field = "width" if width % 16 else "height"
    if width % 16 or height % 16:
        edits = []
        for name, value in (("width", width), ("height", height)):
            if value % 16:
                current = _text(getattr(ctx.spec.params, name))
                edits.append(Edit(name, 0, len(current), str(_round16(value))))
        yield param_hit(ctx, field, f"{width}x{height} is not a multiple of 16",
                        fix=Fix(f"round to {_round16(width)}x{_round16(height)}",
                                tuple(edits), safe=True))
    megapixels = width * height / 1e6
    if megapixels > MAX_MP:
        yield param_hit(ctx, "width", f"{width}x{height} is {megapixels:.1f} MP; FLUX is "
                        f"happiest up to about 2 MP", suggestion="generate near 1 MP and "
                        "upscale")
    elif megapixels < MIN_MP:
        yield param_hit(ctx, "width", f"{width}x{height} is {megapixels:.2f} MP; below "
                        "about 0.25 MP FLUX loses coherence")
    aspect = max(width, height) / min(width, height)
    if aspect > MAX_ASPECT:
        yield param_hit(ctx, "height" if height > width else "width",
                        f"aspect ratio {aspect:.1f}:1 is beyond 21:9; expect stretched or "
                        "repeated content")


#: (megapixels, GB) from the guide's table: 512px ~4, 1024² ~8, 1080p ~12, 1440p ~16, 4K 24.
VRAM_TABLE = ((512 * 512 / 1e6, 4.0), (1024 * 1024 / 1e6, 8.0), (1920 * 1080 / 1e6, 12.0),
              (2560 * 1440 / 1e6, 16.0), (3840 * 2160 / 1e6, 24.0))
#: With no server known, say something only above the guide's entry card (RTX 3060, 12 GB).
UNKNOWN_SERVER_GB = 12.0


def estimate_vram_gb(width: int, height: int) -> float:
    """GB of VRAM FLUX needs at this size, interpolated from the guide's table."""
    mp = width * height / 1e6
    (x0, y0) = VRAM_TABLE[0]
    if mp <= x0:
        return y0 * max(mp / x0, 0.5)
    for (x1, y1) in VRAM_TABLE[1:]:
        if mp <= x1:
            return y0 + (y1 - y0) * (mp - x0) / (x1 - x0)
        x0, y0 = x1, y1
    (xa, ya), (xb, yb) = VRAM_TABLE[-2], VRAM_TABLE[-1]
    return yb + (yb - ya) * (mp - xb) / (xb - xa)


@rule("vram-estimate", "FX206", "warning", family="params",
      params=("width", "height", "server_vram_gb"),
      summary="estimated VRAM for the size is above what the ComfyUI server has",
      rationale="VRAM grows with resolution: ~4 GB at 512px, ~8 GB at 1024², ~12 GB at "
                "1080p, ~16 GB at 1440p, 24 GB+ at 4K. Over the card's memory ComfyUI "
                "swaps or fails. (Info only when no server is known.)",
      source=f"{GUIDE}, \"VRAM and hardware requirements\"")
def vram_estimate(ctx):
    width, height = ctx.param("width"), ctx.param("height")
    if not width or not height or width <= 0 or height <= 0:
        return
    need = estimate_vram_gb(width, height)
    if ctx.server_vram_gb is not None:
        if need > ctx.server_vram_gb:
            yield param_hit(ctx, "width", f"{width}x{height} needs about {need:.0f} GB of "
                            f"VRAM (estimate); the server has {ctx.server_vram_gb:g} GB",
                            suggestion="generate smaller and upscale, or run ComfyUI with "
                                       "--lowvram")
    elif need > UNKNOWN_SERVER_GB:
        yield param_hit(ctx, "width", f"{width}x{height} needs about {need:.0f} GB of VRAM "
                        "(estimate)", severity="info")
