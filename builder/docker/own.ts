// An app's own Dockerfile: built as is, FROM images already on this host only (no registry is
// reachable), its WORKDIR, ENTRYPOINT, CMD and USER standing.
import type Docker from 'dockerode';
import { BuildError } from '../errors.js';
import { shellQuote } from '../buildpacks/npm-start.js';
import { excerpt } from '../safe-fs.js';

/** The images a Dockerfile's FROM lines name, leaving out `scratch`, earlier stages and ones built from ARGs. */
export function fromImages(dockerfile: string): string[] {
  const stages = new Set<string>();
  const images: string[] = [];
  // Continuation lines join the next; comments and the rest of each instruction do not matter here.
  const logical = dockerfile.replace(/\\\r?\n/g, ' ').split(/\r?\n/);
  for (const line of logical) {
    const m = /^\s*FROM\s+((?:--\S+\s+)*)(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
    if (!m) continue;
    const image = m[2];
    const earlier = stages.has(image.toLowerCase());
    if (m[3]) stages.add(m[3].toLowerCase());
    if (image.toLowerCase() === 'scratch' || earlier || image.includes('$')) continue;
    images.push(image);
  }
  return [...new Set(images)];
}

/** Refuses a Dockerfile whose FROM names an image this host does not have, before the engine tries a registry. */
export async function requireLocalImages(docker: Docker, dockerfile: string, stackImage: string): Promise<void> {
  for (const image of fromImages(dockerfile)) {
    const found = await docker.getImage(image).inspect().then(() => true, (err: { statusCode?: number }) => {
      if (err.statusCode === 404) return false;
      throw err;
    });
    if (!found) {
      throw new BuildError(
        `The Dockerfile starts FROM \`${excerpt(image, 100)}\`, which is not on this host. Only images already on the paas host work ` +
          `(no image registry is reachable from it): start FROM ${stackImage}, the stack buildpack apps run on, and push again.`,
      );
    }
  }
}

/** ENTRYPOINT + CMD as one readable command line (what `ps` shows), or undefined when the image has neither. */
export function renderCommand(entrypoint: string[] | null | undefined, cmd: string[] | null | undefined): string | undefined {
  const words = [...(entrypoint ?? []), ...(cmd ?? [])];
  if (words.length === 0) return undefined;
  return words.map((w) => (/^[\w@%+=:,./-]+$/.test(w) ? w : shellQuote(w))).join(' ');
}

/** What the built image says it runs, and as whom. */
export async function imageCommand(docker: Docker, tag: string): Promise<{ web?: string; user: string }> {
  const info = await docker.getImage(tag).inspect();
  return { web: renderCommand(info.Config.Entrypoint as string[] | null, info.Config.Cmd), user: info.Config.User ?? '' };
}
