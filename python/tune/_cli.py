"""The `tune` command (tune run SPEC.yaml, tune resume, tune ls, tune analyze): the C++ tool
that comes with the package."""
import os
import sys


def main():
    tool = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bin", "tune")
    if not os.access(tool, os.X_OK):
        sys.stderr.write(f"tune: the command-line tool is missing ({tool}); reinstall the package\n")
        return 1
    os.execv(tool, [tool] + sys.argv[1:])
    return 1  # not reached


if __name__ == "__main__":
    sys.exit(main())
