import { createRandom } from "../../db/seed.ts";
/**
 * Product artwork, drawn as SVG from a product's kind ("tent", "boot"), its id and a view
 * number: a flat illustration of the kind of thing on a backdrop, with colours, backdrop motif,
 * angle and details that follow from the id, so every product looks like itself and different
 * from its neighbours, and each view (front, side, detail, in use, close-up) frames it anew.
 * Deterministic: the same path always draws the same picture, so it can be cached forever.
 */

const SIZE = 600;

interface Palette {
  backdrop: string;
  motif: string;
  main: string;
  accent: string;
  dark: string;
  light: string;
}

/** Backdrop, motif, object colours and line colour that sit well together. */
const PALETTES: Palette[] = [
  {
    backdrop: "#efe6d8",
    motif: "#e4d3bb",
    main: "#c2653a",
    accent: "#2f4858",
    dark: "#1f2a30",
    light: "#f8f1e7",
  },
  {
    backdrop: "#dfe7dc",
    motif: "#cbd9c6",
    main: "#4a6b56",
    accent: "#e9c46a",
    dark: "#1e2d24",
    light: "#f3f6ef",
  },
  {
    backdrop: "#f4e1dc",
    motif: "#ecccc4",
    main: "#8d5a6a",
    accent: "#f2b880",
    dark: "#3b2530",
    light: "#fbf1ee",
  },
  {
    backdrop: "#dbe8f1",
    motif: "#c5d9e7",
    main: "#2d5d7b",
    accent: "#f2a65a",
    dark: "#15293a",
    light: "#f0f6fa",
  },
  {
    backdrop: "#f3eee3",
    motif: "#e6dcc8",
    main: "#264653",
    accent: "#e76f51",
    dark: "#16282f",
    light: "#fbf8f1",
  },
  {
    backdrop: "#e6e3de",
    motif: "#d7d2ca",
    main: "#3d405b",
    accent: "#81b29a",
    dark: "#1d1e2c",
    light: "#f5f3ef",
  },
  {
    backdrop: "#f6edc9",
    motif: "#eedfa8",
    main: "#bc4b51",
    accent: "#5b8e7d",
    dark: "#3a1e20",
    light: "#fcf7e6",
  },
  {
    backdrop: "#e7e3f1",
    motif: "#d8d1ea",
    main: "#5a4e8c",
    accent: "#f4a259",
    dark: "#231d3d",
    light: "#f5f3fa",
  },
  {
    backdrop: "#dcefe8",
    motif: "#c4e3d8",
    main: "#1b4332",
    accent: "#ff8c61",
    dark: "#0d2219",
    light: "#f1f8f5",
  },
  {
    backdrop: "#2b2d31",
    motif: "#383b41",
    main: "#e9d8a6",
    accent: "#ee9b00",
    dark: "#141518",
    light: "#f6efdb",
  },
  {
    backdrop: "#f1e3d3",
    motif: "#e8d2bb",
    main: "#6b705c",
    accent: "#cb997e",
    dark: "#2c2e25",
    light: "#faf3eb",
  },
  {
    backdrop: "#e3eef0",
    motif: "#cfe2e6",
    main: "#b23a48",
    accent: "#1d3557",
    dark: "#2a0f13",
    light: "#f2f8f9",
  },
];

type Random = ReturnType<typeof createRandom>;

function hashText(text: string): number {
  let hash = 2166136261;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 16777619);
  return hash >>> 0;
}

/** Draws one object centred on (0, 0), about 320 units across. */
type Drawer = (c: Palette, r: Random) => string;

const rect = (x: number, y: number, w: number, h: number, fill: string, rx = 0) =>
  `<rect x="${x}" y="${y}" width="${w}" height="${h}" rx="${rx}" fill="${fill}"/>`;
const circle = (cx: number, cy: number, radius: number, fill: string) =>
  `<circle cx="${cx}" cy="${cy}" r="${radius}" fill="${fill}"/>`;
const ellipse = (cx: number, cy: number, rx: number, ry: number, fill: string) =>
  `<ellipse cx="${cx}" cy="${cy}" rx="${rx}" ry="${ry}" fill="${fill}"/>`;
const path = (d: string, fill: string) => `<path d="${d}" fill="${fill}"/>`;
const line = (d: string, stroke: string, width: number) =>
  `<path d="${d}" fill="none" stroke="${stroke}" stroke-width="${width}" stroke-linecap="round" stroke-linejoin="round"/>`;
const stripes = (x: number, y: number, w: number, h: number, n: number, fill: string) =>
  Array.from({ length: n }, (_, i) => rect(x, y + (h / n) * i + h / n / 3, w, h / n / 3, fill))
    .join("");

const DRAWERS: Record<string, Drawer> = {
  tent: (c, r) =>
    path("M-170 110 L0 -140 L170 110 Z", c.main) +
    path("M0 -140 L70 110 L170 110 Z", c.dark + "33") +
    path(`M-45 110 L0 ${r.int(0, 30)} L45 110 Z`, c.dark) +
    line("M0 -140 L0 -165 M-170 110 L-195 118 M170 110 L195 118", c.dark, 6),
  backpack: (c, r) =>
    rect(-105, -120, 210, 250, c.main, 60) + rect(-105, -120, 210, 90, c.accent, 45) +
    rect(-70, 20, 140, 85, c.dark + "2a", 26) +
    line("M-40 -120 C-40 -175 40 -175 40 -120", c.dark, 10) +
    line(`M-70 ${r.int(55, 70)} L70 ${r.int(55, 70)}`, c.light, 5),
  "sleeping-bag": (c) =>
    rect(-150, -70, 270, 150, c.main, 70) + ellipse(120, 5, 55, 75, c.accent) +
    ellipse(120, 5, 25, 38, c.dark + "55") + rect(-90, -74, 18, 158, c.dark, 6) +
    rect(20, -74, 18, 158, c.dark, 6),
  "camp-stove": (c) =>
    rect(-110, -40, 220, 140, c.main, 18) + rect(-125, -60, 250, 28, c.dark, 10) +
    line("M-60 -95 C-40 -130 -20 -80 0 -115 M20 -95 C40 -130 60 -80 80 -115", c.accent, 9) +
    circle(-60, 30, 18, c.light) + circle(60, 30, 18, c.light),
  headlamp: (c) =>
    ellipse(0, 0, 160, 90, "none") +
    line("M-160 10 C-160 -110 160 -110 160 10 C160 110 -160 110 -160 10", c.main, 26) +
    rect(-60, 40, 120, 80, c.dark, 22) + circle(0, 80, 28, c.accent) + circle(0, 80, 14, c.light),
  "trekking-pole": (c) =>
    line("M-80 -160 L-20 170", c.main, 14) + line("M80 -160 L20 170", c.accent, 14) +
    rect(-100, -170, 36, 80, c.dark, 14) + rect(64, -170, 36, 80, c.dark, 14) +
    ellipse(-30, 130, 30, 8, c.dark) + ellipse(30, 130, 30, 8, c.dark),
  skillet: (c) =>
    circle(-40, 0, 130, c.dark) + circle(-40, 0, 108, c.main) +
    circle(-70, -30, 30, c.light + "55") +
    rect(80, -18, 120, 36, c.dark, 16),
  knife: (c, r) =>
    path(`M-170 30 L60 30 L60 -20 C-20 -30 -110 -${r.int(10, 40)} -170 30 Z`, c.light) +
    line("M-160 30 L60 30", c.dark + "44", 4) + rect(60, -14, 130, 54, c.main, 18) +
    circle(100, 13, 6, c.accent) + circle(150, 13, 6, c.accent),
  "pour-over-set": (c) =>
    path("M-90 -140 L90 -140 L40 -40 L-40 -40 Z", c.main) + rect(-100, -150, 200, 18, c.dark, 9) +
    path("M-110 -30 L110 -30 L130 150 L-130 150 Z", c.light + "cc") +
    rect(-120, 80, 240, 70, c.accent, 12) + line("M130 -10 C190 0 190 90 130 100", c.dark, 10),
  "baking-tray": (c, r) =>
    path("M-180 -40 L180 -40 L150 70 L-150 70 Z", c.dark) +
    path("M-160 -30 L160 -30 L135 55 L-135 55 Z", c.main) +
    Array.from({ length: r.int(3, 5) }, (_, i) => circle(-90 + i * 60, 12, 20, c.light)).join(""),
  "storage-jar": (c) =>
    rect(-95, -100, 190, 250, c.light + "dd", 40) + rect(-105, -150, 210, 60, c.main, 14) +
    rect(-95, 20, 190, 130, c.accent, 40) + rect(-60, -40, 120, 40, c.dark + "22", 8),
  spatula: (c) =>
    rect(-20, -20, 40, 200, c.main, 18) + rect(-80, -180, 160, 170, c.dark, 30) +
    Array.from({ length: 3 }, (_, i) => rect(-50 + i * 40, -150, 18, 110, c.light, 9)).join(""),
  "duvet-cover": (c, r) =>
    rect(-170, 30, 340, 80, c.main, 18) + rect(-160, -40, 320, 80, c.accent, 18) +
    rect(-150, -110, 300, 80, c.light, 18) +
    stripes(-160, -40, 320, 80, r.int(2, 4), c.dark + "22"),
  "pendant-lamp": (c) =>
    line("M0 -220 L0 -60", c.dark, 5) + path("M-150 60 C-150 -70 150 -70 150 60 Z", c.main) +
    rect(-150, 52, 300, 14, c.dark, 7) + ellipse(0, 80, 50, 22, c.accent),
  rug: (c, r) =>
    rect(-160, -120, 320, 240, c.main, 6) + rect(-130, -90, 260, 180, c.accent, 4) +
    path(`M0 -70 L${r.int(60, 100)} 0 L0 70 L-${r.int(60, 100)} 0 Z`, c.light) +
    Array.from({ length: 12 }, (_, i) =>
      line(`M${-150 + i * 27} 120 L${-150 + i * 27} 145`, c.dark, 4)).join(""),
  cushion: (c, r) =>
    path("M-150 -130 Q0 -100 150 -130 Q120 0 150 130 Q0 100 -150 130 Q-120 0 -150 -130 Z", c.main) +
    circle(0, 0, r.int(30, 55), c.accent) + line("M-110 -90 Q0 -70 110 -90", c.light + "66", 4),
  print: (c, r) =>
    rect(-130, -170, 260, 340, c.dark, 4) + rect(-110, -150, 220, 300, c.light, 2) +
    circle(r.int(-40, 40), -40, 55, c.accent) +
    path("M-110 150 L-110 60 Q0 -10 110 70 L110 150 Z", c.main),
  candle: (c) =>
    rect(-80, -60, 160, 220, c.light, 16) + rect(-80, 60, 160, 100, c.main, 16) +
    line("M0 -60 L0 -90", c.dark, 5) +
    path("M0 -160 C35 -120 25 -95 0 -90 C-25 -95 -35 -120 0 -160 Z", c.accent),
  jacket: (c) =>
    path(
      "M-70 -150 L-160 -110 L-190 110 L-130 120 L-115 -20 L-110 160 L110 160 L115 -20 L130 120 L190 110 L160 -110 L70 -150 Q0 -110 -70 -150 Z",
      c.main,
    ) +
    line("M0 -125 L0 160", c.dark, 6) +
    path("M-70 -150 Q0 -200 70 -150 Q0 -110 -70 -150 Z", c.accent) +
    rect(-95, 60, 50, 12, c.dark, 6) + rect(45, 60, 50, 12, c.dark, 6),
  shirt: (c, r) =>
    path(
      "M-60 -150 L-160 -110 L-185 0 L-125 10 L-115 -40 L-110 160 L110 160 L115 -40 L125 10 L185 0 L160 -110 L60 -150 Q0 -125 -60 -150 Z",
      c.light,
    ) +
    path("M-60 -150 L0 -95 L60 -150 L30 -160 L0 -130 L-30 -160 Z", c.main) +
    Array.from({ length: r.int(4, 6) }, (_, i) => circle(0, -80 + i * 45, 6, c.dark)).join(""),
  trousers: (c) =>
    path("M-110 -160 L110 -160 L130 170 L30 170 L0 -40 L-30 170 L-130 170 Z", c.main) +
    rect(-110, -170, 220, 30, c.dark, 6) +
    line("M-60 -130 L-60 -100 M60 -130 L60 -100", c.light + "88", 4),
  sweater: (c, r) =>
    path(
      "M-70 -150 L-170 -100 L-195 130 L-140 140 L-115 -20 L-110 160 L110 160 L115 -20 L140 140 L195 130 L170 -100 L70 -150 Q0 -120 -70 -150 Z",
      c.main,
    ) +
    stripes(-112, -40, 224, 90, r.int(2, 4), c.accent) + rect(-110, 135, 220, 25, c.dark + "44", 4),
  socks: (c) =>
    path(
      "M-110 -170 L-30 -170 L-30 40 Q-30 110 -110 110 L-170 110 Q-200 110 -200 80 Q-200 50 -170 45 L-110 40 Z",
      c.main,
    ) +
    rect(-110, -170, 80, 40, c.accent, 6) +
    path(
      "M40 -140 L120 -140 L120 70 Q120 140 40 140 L-20 140 Q-50 140 -50 110 Q-50 80 -20 75 L40 70 Z",
      c.accent,
    ) +
    rect(40, -140, 80, 40, c.main, 6),
  hat: (c, r) =>
    path("M-130 60 C-130 -140 130 -140 130 60 Z", c.main) + rect(-145, 40, 290, 55, c.accent, 12) +
    circle(0, -120, r.int(22, 38), c.light) + stripes(-145, 40, 290, 55, 2, c.dark + "33"),
  "running-shoe": (c) => shoe(c, { shaft: 0, sole: c.light, stripe: true }),
  sneaker: (c) => shoe(c, { shaft: 10, sole: c.light, stripe: false }),
  boot: (c) => shoe(c, { shaft: 140, sole: c.dark, stripe: false }),
  slipper: (c) => shoe(c, { shaft: -30, sole: c.accent, stripe: false }),
  sandal: (c) =>
    path("M-190 90 Q-200 40 -150 40 L160 40 Q200 45 195 90 Z", c.dark) +
    line("M-100 40 C-60 -60 20 -60 60 40", c.main, 22) +
    line("M40 40 C70 -20 120 -20 150 40", c.accent, 18),
  notebook: (c) =>
    rect(-130, -170, 260, 340, c.main, 10) + rect(-130, -170, 30, 340, c.dark + "55", 6) +
    rect(60, -170, 18, 340, c.accent, 0) + rect(-60, -90, 110, 60, c.light, 6),
  pen: (c) =>
    `<g transform="rotate(-35)">${rect(-180, -16, 300, 32, c.main, 16)}${
      path("M120 -16 L190 0 L120 16 Z", c.light)
    }${rect(-120, -24, 90, 12, c.accent, 6)}</g>`,
  "desk-lamp": (c) =>
    ellipse(-60, 160, 90, 22, c.dark) + line("M-60 150 L20 -20 L-70 -110", c.main, 16) +
    circle(20, -20, 14, c.dark) + path("M-140 -190 L20 -120 L-60 -40 Z", c.accent),
  organizer: (c) =>
    rect(-170, -40, 340, 150, c.main, 12) + rect(-150, -120, 90, 90, c.accent, 8) +
    rect(-40, -160, 80, 130, c.light, 8) + rect(60, -90, 90, 60, c.dark + "88", 8) +
    line("M-60 -40 L-60 110 M60 -40 L60 110", c.dark + "44", 5),
  chair: (c) =>
    rect(-110, -170, 220, 150, c.main, 30) + rect(-130, -10, 260, 50, c.accent, 20) +
    line("M-100 40 L-120 180 M100 40 L120 180 M-60 40 L-50 160 M60 40 L50 160", c.dark, 12),
  headphones: (c) =>
    line("M-120 40 C-120 -170 120 -170 120 40", c.main, 24) + rect(-165, 10, 80, 130, c.dark, 36) +
    rect(85, 10, 80, 130, c.dark, 36) + rect(-150, 30, 50, 90, c.accent, 24) +
    rect(100, 30, 50, 90, c.accent, 24),
  speaker: (c) =>
    rect(-110, -170, 220, 340, c.main, 24) + circle(0, 60, 70, c.dark) +
    circle(0, 60, 30, c.accent) +
    circle(0, -95, 32, c.dark) + circle(0, -95, 12, c.accent),
  turntable: (c) =>
    rect(-180, -130, 360, 260, c.main, 18) + circle(-30, 0, 105, c.dark) +
    circle(-30, 0, 32, c.accent) +
    circle(-30, 0, 6, c.light) + line("M130 -90 L130 20 L60 60", c.light, 9) +
    circle(130, -90, 16, c.light),
  microphone: (c) =>
    rect(-60, -180, 120, 180, c.main, 60) + stripes(-60, -160, 120, 130, 4, c.dark + "44") +
    line("M-95 -60 C-95 60 95 60 95 -60 M0 40 L0 150", c.dark, 12) +
    rect(-90, 140, 180, 26, c.accent, 13),
  cable: (c) =>
    line(
      "M-170 120 C-170 -160 100 -160 100 -20 C100 100 -60 100 -60 0 C-60 -80 40 -80 40 0",
      c.main,
      18,
    ) +
    rect(22, -10, 36, 60, c.dark, 8) + rect(-188, 110, 36, 60, c.accent, 8),
  planter: (c, r) =>
    line(
      "M0 -20 C-10 -100 -70 -140 -110 -150 M0 -20 C10 -110 60 -160 100 -170 M0 -20 L0 -150",
      c.accent,
      10,
    ) +
    ellipse(-110, -150, 40, 20, c.accent) + ellipse(100, -170, 40, 20, c.accent) +
    ellipse(0, -160, 22, 40, c.accent) +
    path(`M-120 -20 L120 -20 L${r.int(80, 100)} 170 L-${r.int(80, 100)} 170 Z`, c.main) +
    rect(-130, -30, 260, 36, c.dark, 8),
  trowel: (c) =>
    path("M-60 -180 Q0 -210 60 -180 L40 10 Q0 50 -40 10 Z", c.light) +
    rect(-10, 10, 20, 50, c.dark, 6) +
    rect(-30, 55, 60, 130, c.main, 24),
  "seed-kit": (c, r) =>
    rect(-120, -170, 240, 340, c.light, 10) + rect(-120, -170, 240, 60, c.main, 10) +
    circle(0, 20, r.int(60, 80), c.accent) + ellipse(0, 20, 25, 60, c.main) +
    rect(-80, 130, 160, 14, c.dark + "66", 7),
  "watering-can": (c) =>
    rect(-120, -60, 200, 190, c.main, 24) + line("M80 60 L190 -90", c.main, 24) +
    rect(170, -120, 50, 40, c.dark, 10) +
    line("M-150 -10 C-190 -10 -190 100 -120 100", c.dark, 14) +
    line("M-80 -60 C-80 -140 40 -140 40 -60", c.dark, 14),
  lantern: (c) =>
    line("M-40 -180 C-40 -230 40 -230 40 -180", c.dark, 10) +
    rect(-100, -180, 200, 40, c.dark, 12) +
    rect(-80, -140, 160, 240, c.light + "cc", 16) + ellipse(0, -10, 40, 60, c.accent) +
    line("M-80 -140 L-80 100 M80 -140 L80 100 M0 -140 L0 -80", c.main, 10) +
    rect(-110, 100, 220, 50, c.main, 12),
  "yoga-block": (c) =>
    path("M-150 -40 L40 -110 L170 -40 L-20 30 Z", c.light) +
    path("M-150 -40 L-20 30 L-20 160 L-150 90 Z", c.main) +
    path("M-20 30 L170 -40 L170 90 L-20 160 Z", c.accent),
  kettlebell: (c) =>
    line("M-70 -40 C-80 -190 80 -190 70 -40", c.dark, 34) + circle(0, 50, 130, c.main) +
    ellipse(-50, 10, 30, 50, c.light + "44") + rect(-130, 165, 260, 14, c.dark + "55", 7),
  "resistance-band": (c) =>
    `<ellipse cx="0" cy="-20" rx="170" ry="110" fill="none" stroke="${c.main}" stroke-width="34"/>` +
    `<ellipse cx="30" cy="40" rx="130" ry="80" fill="none" stroke="${c.accent}" stroke-width="26"/>`,
  bottle: (c, r) =>
    rect(-70, -120, 140, 300, c.main, 40) + rect(-40, -175, 80, 70, c.dark, 14) +
    rect(-70, -20, 140, r.int(60, 110), c.accent, 4) + rect(-50, -100, 16, 240, c.light + "55", 8),
  mat: (c) =>
    rect(-170, -60, 300, 130, c.main, 65) + ellipse(130, 5, 55, 65, c.accent) +
    ellipse(130, 5, 30, 36, c.main) +
    ellipse(130, 5, 12, 14, c.dark) + line("M-110 -60 L-110 70 M40 -60 L40 70", c.dark + "66", 10),
  suitcase: (c) =>
    rect(-120, -140, 240, 300, c.main, 26) +
    line("M-50 -140 L-50 -185 L50 -185 L50 -140", c.dark, 14) +
    line("M-60 -110 L-60 130 M0 -110 L0 130 M60 -110 L60 130", c.dark + "33", 8) +
    circle(-80, 178, 16, c.dark) + circle(80, 178, 16, c.dark) +
    rect(-120, -20, 240, 16, c.accent, 0),
  "packing-cube": (c) =>
    path("M-160 -50 L20 -120 L170 -60 L-10 10 Z", c.accent) +
    path("M-160 -50 L-10 10 L-10 150 L-160 80 Z", c.main) +
    path("M-10 10 L170 -60 L170 80 L-10 150 Z", c.main + "cc") +
    line("M-160 -20 L-10 40 L170 -30", c.dark, 5),
  "travel-pillow": (c) =>
    `<path d="M-60 120 C-180 120 -190 -150 0 -150 C190 -150 180 120 60 120" fill="none" stroke="${c.main}" stroke-width="90" stroke-linecap="round"/>` +
    line("M-60 110 C-150 100 -150 -110 0 -110 C150 -110 150 100 60 110", c.light + "55", 6),
  wallet: (c) =>
    rect(-170, -110, 340, 220, c.main, 22) +
    path("M-170 -40 L170 -40 L170 30 L-170 30 Z", c.dark + "33") +
    rect(70, -30, 100, 70, c.accent, 16) + circle(110, 5, 12, c.light),
  adapter: (c) =>
    rect(-110, -110, 220, 220, c.light, 30) + rect(-110, 50, 220, 60, c.main, 30) +
    rect(-50, -175, 22, 70, c.dark, 6) + rect(28, -175, 22, 70, c.dark, 6) +
    circle(-40, 0, 14, c.dark) + circle(40, 0, 14, c.dark) + circle(0, 80, 8, c.accent),
};

function shoe(c: Palette, style: { shaft: number; sole: string; stripe: boolean }): string {
  const top = -60 - style.shaft;
  return path(
    `M-170 60 L-170 ${top} Q-170 ${top - 30} -130 ${top - 30} L-40 ${
      top - 30
    } Q-20 ${top} -10 -40 Q60 -30 150 0 Q195 15 195 60 Z`,
    c.main,
  ) + rect(-185, 55, 385, 42, style.sole, 20) +
    (style.stripe ? line("M-90 20 L30 -30 M-60 40 L60 -10", c.accent, 12) : "") +
    line(`M-110 ${top + 10} L-60 ${top + 10} M-110 ${top + 40} L-55 ${top + 40}`, c.light, 6);
}

/** A product kind without its own drawing: a wrapped parcel. */
const parcel: Drawer = (c) =>
  rect(-150, -120, 300, 240, c.main, 16) + rect(-18, -120, 36, 240, c.accent) +
  rect(-150, -18, 300, 36, c.accent) + circle(0, 0, 30, c.light);

function backdrop(c: Palette, r: Random, view: number): string {
  const motif = (view + r.int(0, 5)) % 6;
  switch (motif) {
    case 0:
      return circle(r.int(220, 380), r.int(200, 300), r.int(170, 230), c.motif);
    case 1:
      return path(
        `M${r.int(90, 150)} 600 L${r.int(90, 150)} 300 A150 150 0 0 1 ${r.int(450, 510)} 300 L${
          r.int(450, 510)
        } 600 Z`,
        c.motif,
      );
    case 2:
      return path(`M0 ${r.int(300, 420)} L600 ${r.int(180, 300)} L600 600 L0 600 Z`, c.motif);
    case 3:
      return Array.from({ length: 8 }, (_, i) => rect(0, i * 80 + 20, SIZE, 34, c.motif)).join("");
    case 4:
      return Array.from(
        { length: 36 },
        (_, i) => circle(50 + (i % 6) * 100, 50 + Math.floor(i / 6) * 100, 9, c.motif),
      ).join("");
    default:
      return rect(0, r.int(400, 460), SIZE, 200, c.motif) +
        circle(r.int(80, 520), r.int(90, 160), r.int(40, 70), c.accent + "55");
  }
}

/**
 * The SVG for a product `kind`, product `id` and `view` (0 front, 1 side, 2 detail, 3 in use,
 * 4 close-up; others reuse those framings).
 */
export function drawArtwork(kind: string, id: number, view: number): string {
  const productRandom = createRandom(hashText(`${kind}:${id}`));
  const base = PALETTES[productRandom.int(0, PALETTES.length - 1)];
  // Half the products wear the palette the other way round: twice the colourings per kind.
  const palette = productRandom.next() < 0.5
    ? base
    : { ...base, main: base.accent, accent: base.main };
  const size = productRandom.between(0.86, 1.08);
  const shift = productRandom.int(-24, 24);
  const viewRandom = createRandom(hashText(`${kind}:${id}:${view}`));
  const draw = DRAWERS[kind] ?? parcel;
  const object = draw(palette, createRandom(hashText(`${kind}:${id}:object`)));
  const tilt = productRandom.between(-8, 8);
  const framing = [
    { scale: 1, x: 300, y: 300, rotate: tilt },
    { scale: 0.9, x: 300, y: 310, rotate: tilt - 14, flip: true },
    { scale: 1.9, x: 330, y: 360, rotate: tilt + 6 },
    { scale: 0.62, x: 300, y: 330, rotate: 0 },
    { scale: 1.35, x: 260, y: 280, rotate: tilt - 4 },
  ][view % 5];
  const backdropColor = view === 1 ? palette.light : palette.backdrop;
  const scale = framing.scale * size;
  const transform = `translate(${framing.x + shift} ${framing.y}) ` +
    `rotate(${framing.rotate.toFixed(1)}) scale(${(framing.flip ? -scale : scale).toFixed(3)} ${
      scale.toFixed(3)
    })`;
  const scene = view % 5 === 3
    ? rect(0, 420, SIZE, 180, palette.motif) + rect(120, 400, 360, 28, palette.dark + "55", 8)
    : "";
  const shadow = view % 5 === 2
    ? ""
    : ellipse(300 + shift, framing.y + 180 * scale, 200 * scale, 22 * scale, palette.dark + "22");
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${SIZE} ${SIZE}" width="${SIZE}" height="${SIZE}">` +
    rect(0, 0, SIZE, SIZE, backdropColor) + backdrop(palette, viewRandom, view) + scene + shadow +
    `<g transform="${transform}">${object}</g></svg>`;
}

/** The kinds with a drawing of their own (others are drawn as a parcel). */
export const ARTWORK_KINDS: readonly string[] = Object.keys(DRAWERS);
