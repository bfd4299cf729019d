"""Checks for pages in a real browser: accessibility (axe-core) and layout (scroll, clipped text).

Each check runs in the page and returns what it found, named by a CSS selector and the text, so
that a failing test says which element is wrong. ``tests/web/test_browser_harness.py`` shows each
check failing on a page that breaks it.
"""

from __future__ import annotations

from typing import Any

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

SERIOUS_IMPACTS = ("serious", "critical")

# axe-core ships inside axe-playwright-python (axe.min.js): nothing is fetched at run time.
_AXE = Axe()

# cssPath(el): a selector that names one element, from the nearest ancestor with an id.
_JS_HELPERS = r"""
const cssPath = (el) => {
  const parts = [];
  for (let node = el; node && node.nodeType === 1; node = node.parentElement) {
    if (node.id) { parts.unshift('#' + CSS.escape(node.id)); break; }
    const tag = node.localName;
    if (tag === 'html' || tag === 'body') { parts.unshift(tag); break; }
    const parent = node.parentElement;
    const same = parent ? [...parent.children].filter((c) => c.localName === tag) : [node];
    parts.unshift(same.length > 1 ? `${tag}:nth-of-type(${same.indexOf(node) + 1})` : tag);
  }
  return parts.join(' > ');
};
const textOf = (el) => (el.innerText || el.textContent || '').replace(/\s+/g, ' ').trim().slice(0, 80);
// Shown: laid out, not hidden, not transparent, not the visually-hidden pattern (a 1px box
// clipped to nothing, for screen readers) on the element or an ancestor.
const shown = (el) => {
  if (!el.getClientRects().length) return false;
  const style = getComputedStyle(el);
  if (style.visibility !== 'visible') return false;
  for (let node = el; node && node.nodeType === 1; node = node.parentElement) {
    const s = getComputedStyle(node);
    if (parseFloat(s.opacity) === 0) return false;
    if (s.clip !== 'auto' || s.clipPath !== 'none') return false;
    const r = node.getBoundingClientRect();
    if ((r.width <= 1 || r.height <= 1) && s.overflow !== 'visible') return false;
  }
  return true;
};
"""

_HORIZONTAL_SCROLL_JS = (
    "() => {"
    + _JS_HELPERS
    + r"""
  const root = document.documentElement;
  const width = root.clientWidth;
  const scrollWidth = Math.max(root.scrollWidth, document.body ? document.body.scrollWidth : 0);
  if (scrollWidth <= width + 1) return {width, scrollWidth, offenders: []};
  // An element inside a container that clips or scrolls sideways does not widen the page.
  const contained = (el) => {
    for (let node = el.parentElement; node && node !== document.body && node !== root;
         node = node.parentElement) {
      if (getComputedStyle(node).overflowX !== 'visible') return true;
    }
    return false;
  };
  const sticksOut = (el) => {
    const r = el.getBoundingClientRect();
    return r.width > 0 && (r.right > width + 1 || r.left < -1);
  };
  const wide = [...document.body.querySelectorAll('*')]
    .filter((el) => el.getClientRects().length && sticksOut(el) && !contained(el));
  // The culprits are those that stick out while their parent does not.
  const culprits = wide.filter((el) => !el.parentElement || !sticksOut(el.parentElement));
  const offenders = (culprits.length ? culprits : wide).slice(0, 10).map((el) => {
    const r = el.getBoundingClientRect();
    return {selector: cssPath(el), text: textOf(el),
            left: Math.round(r.left), right: Math.round(r.right)};
  });
  return {width, scrollWidth, offenders};
}"""
)

# Text elements whose boxes must not overlap each other.
TEXT_ELEMENTS = "h1, h2, h3, h4, h5, h6, label, legend, caption, button, a, th, td, summary"

_CLIPPED_TEXT_JS = (
    "() => {"
    + _JS_HELPERS
    + r"""
  const found = [];
  // 1. An element that hides its overflow must hold all of its text. Form fields scroll their
  // value by design, and overflow: auto or scroll lets the reader scroll to the rest.
  const fields = new Set(['input', 'textarea', 'select', 'option']);
  for (const el of document.body.querySelectorAll('*')) {
    if (fields.has(el.localName)) continue;
    // A map pans under its frame by design: its panes are larger than the frame.
    if (el.closest('.leaflet-container') && !el.closest('.leaflet-control')) continue;
    const s = getComputedStyle(el);
    const hides = (v) => v === 'hidden' || v === 'clip';
    const hidesX = hides(s.overflowX), hidesY = hides(s.overflowY);
    if (!hidesX && !hidesY) continue;
    if (!textOf(el) || !shown(el)) continue;
    const cutX = hidesX && el.scrollWidth > el.clientWidth + 1;
    const cutY = hidesY && el.scrollHeight > el.clientHeight + 1;
    if (cutX || cutY) {
      found.push({kind: 'clipped', selector: cssPath(el), text: textOf(el),
                  detail: `scroll ${el.scrollWidth}x${el.scrollHeight} > ` +
                          `client ${el.clientWidth}x${el.clientHeight}`});
    }
  }
  // 2. No two text elements overlap. The box of an element is that of its rendered text (text
  // that overflows its element visibly still counts where it is drawn), and an element is not
  // compared with its own ancestors or descendants.
  const textBox = (el) => {
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    let box = null;
    for (let t = walker.nextNode(); t; t = walker.nextNode()) {
      if (!t.data.trim() || !t.parentElement || !shown(t.parentElement)) continue;
      const range = document.createRange();
      range.selectNodeContents(t);
      for (const r of range.getClientRects()) {
        if (r.width < 1 || r.height < 1) continue;
        box = box ? {left: Math.min(box.left, r.left), top: Math.min(box.top, r.top),
                     right: Math.max(box.right, r.right), bottom: Math.max(box.bottom, r.bottom)}
                  : {left: r.left, top: r.top, right: r.right, bottom: r.bottom};
      }
    }
    return box;
  };
  const items = [...document.body.querySelectorAll(__TEXT_ELEMENTS__)]
    .filter(shown).map((el) => ({el, box: textBox(el)})).filter((i) => i.box);
  for (let i = 0; i < items.length; i++) {
    for (let j = i + 1; j < items.length; j++) {
      const a = items[i], b = items[j];
      if (a.el.contains(b.el) || b.el.contains(a.el)) continue;
      const w = Math.min(a.box.right, b.box.right) - Math.max(a.box.left, b.box.left);
      const h = Math.min(a.box.bottom, b.box.bottom) - Math.max(a.box.top, b.box.top);
      if (w > 1 && h > 1) {
        found.push({kind: 'overlap', selector: cssPath(a.el), text: textOf(a.el),
                    detail: `overlaps ${cssPath(b.el)} ("${textOf(b.el)}") ` +
                            `by ${Math.round(w)}x${Math.round(h)} px`});
      }
    }
  }
  return found;
}""".replace("__TEXT_ELEMENTS__", repr(TEXT_ELEMENTS))
)


def _settle(page: Page) -> None:
    """Wait until web fonts are in, so that the text is measured as the reader sees it."""
    page.evaluate("() => document.fonts.ready.then(() => true)")


def axe_results(page: Page, context: str | None = None) -> dict[str, Any]:
    """Run axe-core (every rule it has) on the page, or on the part that ``context`` selects."""
    response: dict[str, Any] = _AXE.run(page, context=context).response
    return response


def serious_axe_violations(page: Page, context: str | None = None) -> list[dict[str, Any]]:
    """axe-core's violations on the page whose impact is serious or critical."""
    violations: list[dict[str, Any]] = axe_results(page, context)["violations"]
    return [v for v in violations if v.get("impact") in SERIOUS_IMPACTS]


def describe_violations(violations: list[dict[str, Any]]) -> str:
    """One line per violation and element: rule, impact, what is wrong, and where."""
    lines = []
    for v in violations:
        for node in v["nodes"]:
            target = " ".join(str(t) for t in node["target"])
            lines.append(f"{v['id']} ({v['impact']}): {v['help']} at {target}")
    return "\n".join(lines)


def assert_accessible(page: Page, context: str | None = None) -> None:
    """Fail naming each serious or critical axe-core violation on the page."""
    violations = serious_axe_violations(page, context)
    assert not violations, "axe-core found:\n" + describe_violations(violations)


def horizontal_scroll(page: Page) -> dict[str, Any]:
    """The page's width, its scroll width, and the elements that stick out sideways."""
    _settle(page)
    result: dict[str, Any] = page.evaluate(_HORIZONTAL_SCROLL_JS)
    return result


def assert_no_horizontal_scroll(page: Page) -> None:
    """Fail if the page scrolls sideways, naming the elements that make it wider."""
    result = horizontal_scroll(page)
    assert result["scrollWidth"] <= result["width"] + 1, (
        f"the page scrolls sideways: {result['scrollWidth']} px wide in a "
        f"{result['width']} px viewport; sticking out: "
        + "; ".join(
            f"{o['selector']} ({o['text']!r}) spans {o['left']}..{o['right']}"
            for o in result["offenders"]
        )
    )


def clipped_text(page: Page) -> list[dict[str, str]]:
    """Text that is cut off by its element, or drawn over another text element."""
    _settle(page)
    found: list[dict[str, str]] = page.evaluate(_CLIPPED_TEXT_JS)
    return found


def assert_no_clipped_text(page: Page) -> None:
    """Fail naming each element whose text is cut off or overlaps another's."""
    found = clipped_text(page)
    assert not found, "text is cut off or overlaps:\n" + "\n".join(
        f"{f['kind']}: {f['selector']} ({f['text']!r}) {f['detail']}" for f in found
    )
