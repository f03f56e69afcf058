// Finds a host binary the way spawn would: the first executable regular file of that name in
// PATH's folders, without a shell. Returns the path found and its realpath.
import { constants } from "node:fs";
import { access, realpath, stat } from "node:fs/promises";
import { isAbsolute, join } from "node:path";

export interface FoundBinary {
  /** Where it was found (a PATH entry joined with the name, or the fixed path). */
  readonly path: string;
  /** That path with every symbolic link resolved: the file that is hashed. */
  readonly resolved: string;
}

/** `name` searched in `searchPath` (colon-separated; relative entries are ignored). */
export async function findInPath(name: string, searchPath: string): Promise<FoundBinary | null> {
  for (const dir of searchPath.split(":")) {
    if (dir === "" || !isAbsolute(dir)) continue;
    const found = await findAt(join(dir, name));
    if (found !== null) return found;
  }
  return null;
}

/** The file at `path` if it exists, is (after links) a regular file and is executable. */
export async function findAt(path: string): Promise<FoundBinary | null> {
  try {
    const resolved = await realpath(path);
    if (!(await stat(resolved)).isFile()) return null;
    await access(resolved, constants.X_OK);
    return { path, resolved };
  } catch {
    return null;
  }
}
