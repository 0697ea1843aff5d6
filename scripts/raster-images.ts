// npm run images — the raster copies of the site's SVG pictures, made at development time and
// committed: a PNG of each public/images/*.svg (Gmail and Outlook show no SVG in an email, so
// articles point their heroImage at these) and public/favicon.ico (browsers ask for it whatever
// the page links). Uses sharp (librsvg inside); run again after changing an SVG.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { sharpsToIco } from 'sharp-ico';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const images = path.join(root, 'public/images');

for (const name of readdirSync(images)
  .filter((f) => f.endsWith('.svg'))
  .sort()) {
  const target = path.join(images, name.replace(/\.svg$/, '.png'));
  // Twice the size for sharp screens is 2400 px: more bytes than an email should carry. 1200 px
  // is what the article page and the email card are laid out for.
  const info = await sharp(path.join(images, name), { density: 96 })
    .resize({ width: 1200 })
    .png({ compressionLevel: 9, palette: true, quality: 90, effort: 10 })
    .toFile(target);
  console.log(`${path.relative(root, target)}: ${info.width}×${info.height}, ${(info.size / 1024).toFixed(1)} KB`);
}

const favicon = path.join(root, 'public/favicon.svg');
const ico = path.join(root, 'public/favicon.ico');
await sharpsToIco(
  [16, 32, 48].map((size) => sharp(favicon, { density: 384 }).resize(size, size)),
  ico,
);
console.log(`${path.relative(root, ico)}: 16, 32 and 48 px`);
