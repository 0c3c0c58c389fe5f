// Rules of a pod's security fields that both sides apply: the controller when it validates a
// manifest, the agent again before it opens anything a pod names.

/**
 * What is wrong with a seccomp localhostProfile path, or undefined: it must stay below the node's
 * profile root, so it is relative and never steps up (Kubernetes' local descending path rule).
 */
export function localhostProfileProblem(path: string): string | undefined {
  if (path === '') return 'must not be empty';
  if (path.includes('\0')) return 'must not contain NUL';
  if (path.startsWith('/')) return 'must be a relative path (below the node\'s seccomp profile root)';
  if (path.split('/').includes('..')) return "must not contain '..'";
  return undefined;
}
