#!/usr/bin/env python3
"""Runs the code blocks of a Markdown file that are marked as runnable, and fails on any that
breaks, naming FILE:LINE (tests/docs/CMakeLists.txt registers one CTest test per file).

A fenced block's info string says what happens to it: the language, then a marker.

  ```cpp run            a whole program: compiled against the library, then run
  ```cpp compile        a whole program: compiled and linked only (say why it cannot run)
  ```cpp fragment       statements: compiled inside `void f(tune::RunOptions& options)`
  ```sh run             run by bash (set -euo pipefail), `tune` on PATH
  ```yaml run           a spec: `tune run FILE`; a first line `# NAME.yaml` names the file
  ```yaml check         a spec: `tune run FILE --check` (checked, nothing runs)
  ```python run         run by /usr/bin/python3; skipped, saying so, while `import tune` fails
  ```LANG norun: WHY    not run; the reason is required

Blocks in cpp, sh, bash, yaml and python must carry a marker, so a new example cannot silently
go untested. Blocks of other languages or none (output, diagrams, protocol messages) are text.

All blocks of one file share one scratch directory, in order, like a reader following the page:
it holds symlinks to the checkout's top-level entries (examples/, scripts/, data/, ...), `build`
pointing at this build tree, and `home/` as $HOME, so `~/tune_results` stays inside it.
C++ blocks compile in a stable directory under the build tree (ccache hits on unchanged
blocks), with `#line` directives so that a compiler error names the Markdown file and line.
"""

import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

CODE_LANGUAGES = {"cpp": "cpp", "c++": "cpp", "sh": "sh", "bash": "sh", "yaml": "yaml", "yml": "yaml",
                  "python": "python", "py": "python"}
MARKERS = {"cpp": {"run", "compile", "fragment"}, "sh": {"run"}, "yaml": {"run", "check"},
           "python": {"run"}}
FENCE = re.compile(r"^( *)(`{3,}|~{3,})(.*)$")


class Block:
    def __init__(self, line, language, marker, reason, text):
        self.line = line          # 1-based line of the first content line
        self.language = language  # normalised: cpp, sh, yaml, python, or None for text
        self.marker = marker      # run, compile, fragment, check, norun, or None
        self.reason = reason
        self.text = text


def parse_blocks(path):
    """Fenced blocks of a Markdown file; an indented fence (inside a list) has its indent removed."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    blocks, i = [], 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence, info = len(m.group(1)), m.group(2), m.group(3).strip()
        body, j = [], i + 1
        while j < len(lines):
            close = FENCE.match(lines[j])
            if close and close.group(2)[0] == fence[0] and len(close.group(2)) >= len(fence) \
                    and not close.group(3).strip():
                break
            text = lines[j]
            body.append(text[indent:] if text[:indent].strip() == "" else text.lstrip())
            j += 1
        words = info.split(None, 1)
        raw_language = words[0].lower() if words else ""
        rest = words[1].strip() if len(words) > 1 else ""
        marker, reason = None, ""
        if rest.startswith("norun"):
            marker, reason = "norun", rest[len("norun"):].lstrip(":").strip()
        elif rest:
            marker = rest.split()[0]
        blocks.append(Block(i + 2, CODE_LANGUAGES.get(raw_language), marker, reason, "\n".join(body) + "\n"))
        i = j + 1
    return blocks


def check_markers(rel, blocks):
    """Errors for code blocks without a valid marker."""
    errors = []
    for b in blocks:
        if b.language is None:
            continue
        where = f"{rel}:{b.line - 1}"
        if b.marker is None:
            errors.append(f"{where}: a {b.language} block needs a marker: "
                          f"{' / '.join(sorted(MARKERS[b.language]))}, or 'norun: WHY'")
        elif b.marker == "norun":
            if not b.reason:
                errors.append(f"{where}: 'norun' needs a reason ('norun: needs a Slurm cluster')")
        elif b.marker not in MARKERS[b.language]:
            errors.append(f"{where}: unknown marker '{b.marker}' for {b.language} "
                          f"(valid: {', '.join(sorted(MARKERS[b.language]))}, norun: WHY)")
    return errors


def run(argv, cwd, env, timeout, stdin=None):
    """(exit code or a message, combined output)."""
    try:
        p = subprocess.run(argv, cwd=cwd, env=env, stdin=stdin, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=timeout)
        return p.returncode, p.stdout.decode("utf-8", "replace")
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode("utf-8", "replace")
        return f"timed out after {timeout} s", out


def tail(text, n=40):
    lines = text.rstrip("\n").split("\n")
    return "\n".join("    " + l for l in lines[-n:])


class Runner:
    def __init__(self, args, rel):
        self.args = args
        self.rel = rel
        self.failures = []
        self.counts = {"ran": 0, "compiled": 0, "skipped": 0, "not run": 0}
        stem = re.sub(r"[^A-Za-z0-9]+", "_", rel)
        self.compile_dir = os.path.join(args.work_dir, stem)
        os.makedirs(self.compile_dir, exist_ok=True)
        self.scratch = tempfile.mkdtemp(prefix="tune_doc_")
        self._make_checkout()
        self.env = dict(os.environ)
        self.env["HOME"] = os.path.join(self.scratch, "home")
        bin_dir = os.path.join(self.scratch, ".bin")
        os.makedirs(bin_dir)
        os.symlink(args.tune, os.path.join(bin_dir, "tune"))
        self.env["PATH"] = bin_dir + os.pathsep + self.env.get("PATH", "/usr/bin:/bin")
        self.env["TUNE_SOURCE_DIR"] = args.source_dir
        self.python_ok = None

    def _make_checkout(self):
        os.makedirs(os.path.join(self.scratch, "home"))
        build = os.path.realpath(self.args.build_dir)
        for name in os.listdir(self.args.source_dir):
            full = os.path.join(self.args.source_dir, name)
            if name.startswith(".") or name.startswith("build") or os.path.realpath(full) == build:
                continue
            os.symlink(full, os.path.join(self.scratch, name))
        os.symlink(build, os.path.join(self.scratch, "build"))

    def close(self):
        shutil.rmtree(self.scratch, ignore_errors=True)

    def fail(self, block, what, output=""):
        self.failures.append(f"{self.rel}:{block.line - 1}: {what}\n{tail(output)}" if output
                             else f"{self.rel}:{block.line - 1}: {what}")

    def log(self, block, what, seconds):
        print(f"{self.rel}:{block.line - 1}: {block.language} {what} ({seconds:.1f} s)", flush=True)

    # C++ ------------------------------------------------------------------------------------
    def cxx_flags(self):
        a = self.args
        flags = ["-std=c++20", "-O0", "-w", f"-I{a.source_dir}/include"]
        if a.sanitize:
            flags += [f"-fsanitize={a.sanitize}", "-fno-omit-frame-pointer"]
            if "undefined" in a.sanitize:
                flags += ["-fno-sanitize=null,alignment,vptr"]
        return flags

    def compile_cpp(self, block, source_text, name, link=True):
        """Compiles (through the launcher: ccache caches -c only) and links; the binary's path, or None."""
        a = self.args
        source = os.path.join(self.compile_dir, name + ".cc")
        # Write only on change, so the object's ccache key and mtime stay stable.
        if not os.path.exists(source) or open(source, encoding="utf-8").read() != source_text:
            with open(source, "w", encoding="utf-8") as f:
                f.write(source_text)
        obj = os.path.join(self.compile_dir, name + ".o")
        start = time.time()
        launcher = shlex.split(a.launcher) if a.launcher else []
        # The caller's environment, not the blocks' (whose $HOME would hide ccache's cache).
        rc, out = run(launcher + [a.cxx] + self.cxx_flags() + ["-c", source, "-o", obj], self.compile_dir,
                      os.environ, a.compile_timeout)
        if rc != 0:
            self.fail(block, f"cpp block does not compile ({rc})", out)
            return None
        binary = os.path.join(self.compile_dir, name)
        if link:
            # The flags docs/install.md names for linking without CMake.
            rc, out = run([a.cxx] + self.cxx_flags() + [obj, "-o", binary, f"-L{a.lib_dir}", "-ltune", "-lfmt",
                                                        "-lyaml-cpp", "-lsimdjson", "-pthread"],
                          self.compile_dir, os.environ, a.compile_timeout)
            if rc != 0:
                self.fail(block, f"cpp block does not link ({rc})", out)
                return None
        self.counts["compiled"] += 1
        self.log(block, "compiled" + (" and linked" if link else ""), time.time() - start)
        return binary

    def cpp_program(self, block):
        text = f'#line {block.line} "{self.rel}"\n' + block.text
        binary = self.compile_cpp(block, text, f"block_{block.line}")
        if binary is None or block.marker == "compile":
            return
        start = time.time()
        rc, out = run([binary], self.scratch, self.env, self.args.run_timeout)
        if rc != 0:
            self.fail(block, f"cpp block exited with {rc}", out)
            return
        self.counts["ran"] += 1
        self.log(block, "ran", time.time() - start)

    def cpp_fragments(self, blocks):
        """All fragments of the file in one translation unit: one compile for all of them."""
        if not blocks:
            return
        parts = ["#include <tune/tune.h>\n#include <iostream>\n#include <memory>\n#include <string>\n"]
        for b in blocks:
            # The inner braces let a fragment declare its own `options`, shadowing the parameter.
            parts.append(f"namespace doc_block_{b.line} {{\n[[maybe_unused]] void fragment("
                         f"[[maybe_unused]] tune::RunOptions& options) {{ {{\n"
                         f'#line {b.line} "{self.rel}"\n{b.text}}} }}\n}}\n')
        binary = self.compile_cpp(blocks[0], "".join(parts), "fragments", link=False)
        if binary is not None:
            self.counts["compiled"] += len(blocks) - 1

    # Shell, YAML, Python ---------------------------------------------------------------------
    def run_checked(self, block, argv, what, stdin_text=None, cwd=None):
        start = time.time()
        stdin = None
        if stdin_text is not None:
            stdin = tempfile.TemporaryFile()
            stdin.write(stdin_text.encode())
            stdin.seek(0)
        rc, out = run(argv, cwd or self.scratch, self.env, self.args.run_timeout, stdin)
        if rc != 0:
            self.fail(block, f"{what} exited with {rc}", out)
            return
        self.counts["ran"] += 1
        self.log(block, "ran", time.time() - start)

    def sh(self, block):
        self.run_checked(block, ["bash", "-c", "set -euo pipefail\n" + block.text, "doc-block"], "sh block")

    def yaml(self, block):
        first = block.text.split("\n", 1)[0]
        m = re.match(r"^#\s*([A-Za-z0-9_.-]+\.ya?ml)\s*$", first)
        name = m.group(1) if m else f"block_{block.line}.yaml"
        with open(os.path.join(self.scratch, name), "w", encoding="utf-8") as f:
            f.write(block.text)
        argv = [self.args.tune, "run", name] + (["--check"] if block.marker == "check" else [])
        self.run_checked(block, argv, f"tune run {name}")

    def python(self, block):
        if self.python_ok is None:
            # From $HOME, not the checkout: a source tree's tune/ folder must not pass for the package.
            rc, out = run([self.args.python, "-c", "import tune"], self.env["HOME"], self.env, 60)
            self.python_ok = rc == 0
            self.python_why = out.strip().split("\n")[-1] if out.strip() else f"exit {rc}"
        if not self.python_ok:
            self.counts["skipped"] += 1
            print(f"{self.rel}:{block.line - 1}: python SKIPPED: {self.args.python} cannot "
                  f"`import tune` ({self.python_why}); install it with "
                  f"`{self.args.python} -m pip install --no-build-isolation .`", flush=True)
            return
        self.run_checked(block, [self.args.python, "-"], "python block", block.text, self.env["HOME"])

    def run_all(self, blocks):
        fragments = []
        for b in blocks:
            if b.language is None or (self.args.only and b.language != self.args.only):
                continue
            if b.marker == "norun":
                self.counts["not run"] += 1
            elif b.language == "cpp" and b.marker == "fragment":
                fragments.append(b)
            elif b.language == "cpp":
                self.cpp_program(b)
            elif b.language == "sh":
                self.sh(b)
            elif b.language == "yaml":
                self.yaml(b)
            elif b.language == "python":
                self.python(b)
        self.cpp_fragments(fragments)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--source-dir", required=True)
    p.add_argument("--build-dir", required=True)
    p.add_argument("--work-dir", required=True, help="where C++ blocks are compiled (kept)")
    p.add_argument("--tune", required=True, help="the built `tune` binary")
    p.add_argument("--cxx", required=True)
    p.add_argument("--launcher", default="", help="e.g. ccache")
    p.add_argument("--lib-dir", required=True, help="the directory holding libtune.a")
    p.add_argument("--sanitize", default="")
    p.add_argument("--python", default="/usr/bin/python3")
    p.add_argument("--compile-timeout", type=int, default=300)
    p.add_argument("--run-timeout", type=int, default=120)
    p.add_argument("--markers-only", action="store_true", help="check markers, run nothing")
    p.add_argument("--only", choices=sorted(set(CODE_LANGUAGES.values())),
                   help="run the blocks of this language alone (python/run_tests.sh: the Python blocks, "
                        "once the package is built)")
    p.add_argument("files", nargs="+", help="Markdown files, relative to --source-dir")
    args = p.parse_args()

    failures, counts = [], {}
    for rel in args.files:
        blocks = parse_blocks(os.path.join(args.source_dir, rel))
        errors = check_markers(rel, blocks)
        failures += errors
        if errors or args.markers_only:
            continue
        runner = Runner(args, rel)
        try:
            runner.run_all(blocks)
        finally:
            runner.close()
        failures += runner.failures
        for k, v in runner.counts.items():
            counts[k] = counts.get(k, 0) + v
    summary = ", ".join(f"{v} {k}" for k, v in counts.items())
    for f in failures:
        print("FAILED " + f, file=sys.stderr)
    print(f"{' '.join(args.files)}: {summary or 'nothing run'}; {len(failures)} failed", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
