import type { Attributes } from 'ssh2';

import { replaceByRename, RenameWouldShow } from './replaceByRename';
import type { SaveContext, SaveRequest } from './saveContext';
import { reasonAgainstRename } from './savePlan';
import { writeInPlace } from './writeInPlace';

/**
 * Saves new content into `request.target` by the plan that keeps everything but the content as it
 * was: replace by rename (atomic) when the result is indistinguishable from the original, otherwise
 * write in place protected by a backup. The plan and its reason go to the log. Answers the saved
 * file's attributes when known.
 */
export async function saveFile(context: SaveContext, request: SaveRequest): Promise<Attributes | undefined> {
  const { existing } = request;
  // What is already known can rule out a rename before a temporary is even created.
  const early =
    existing === undefined || existing instanceof Promise
      ? undefined
      : reasonAgainstRename({
          existing,
          posixRename: context.session.hasExtension('posix-rename@openssh.com'),
          identity: context.identity(),
          links: request.links,
        });
  if (early === undefined) {
    try {
      const written = await replaceByRename(context, request);
      context.logger.debug(`Saved ${request.target} by replacing it with a new file (atomic)`);
      return written;
    } catch (error) {
      if (!(error instanceof RenameWouldShow)) {
        throw error;
      }
      return inPlace(context, request, error.reason);
    }
  }
  return inPlace(context, request, early);
}

/** A save that had to be written in place, where the context does not allow that (see SaveContext). */
export class InPlaceRefused extends Error {}

async function inPlace(context: SaveContext, request: SaveRequest, reason: string): Promise<undefined> {
  if (!context.inPlaceAllowed) {
    throw new InPlaceRefused(
      `${request.target} would have to be saved in place (${reason}), which is left to the user's connection`,
    );
  }
  context.logger.info(`Saving ${request.target} in place, protected by a copy of the original: ${reason}`);
  await writeInPlace(context, request);
  return undefined;
}
