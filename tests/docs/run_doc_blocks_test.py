#!/usr/bin/env python3
"""Tests of run_doc_blocks.py on small Markdown pages of its own: what passes, what fails and
how a failure is named. Registered as the CTest test docs.runner; it takes the runner's build
arguments from the environment (TUNE_DOCS_TUNE, TUNE_DOCS_CXX, TUNE_DOCS_LIB_DIR,
TUNE_DOCS_SANITIZE, TUNE_DOCS_BUILD_DIR, TUNE_DOCS_SOURCE_DIR)."""

import os
import subprocess
import sys
import tempfile
import textwrap
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
RUNNER = os.path.join(HERE, "run_doc_blocks.py")
FENCE = "```"


class RunDocBlocksTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="tune_doc_runner_test_")
        self.source = os.path.join(self.tmp.name, "src")
        os.makedirs(self.source)
        os.symlink(os.path.join(os.environ["TUNE_DOCS_SOURCE_DIR"], "include"),
                   os.path.join(self.source, "include"))

    def tearDown(self):
        self.tmp.cleanup()

    def run_page(self, text, *extra):
        """(exit status, stdout + stderr) of the runner on one page named page.md."""
        with open(os.path.join(self.source, "page.md"), "w", encoding="utf-8") as f:
            f.write(textwrap.dedent(text).replace("~~~", FENCE))
        env = os.environ
        argv = [sys.executable, RUNNER, "--source-dir", self.source,
                "--build-dir", env["TUNE_DOCS_BUILD_DIR"], "--work-dir", os.path.join(self.tmp.name, "work"),
                "--tune", env["TUNE_DOCS_TUNE"], "--cxx", env["TUNE_DOCS_CXX"],
                "--lib-dir", env["TUNE_DOCS_LIB_DIR"], "--sanitize=" + env.get("TUNE_DOCS_SANITIZE", ""),
                *extra, "page.md"]
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
        return p.returncode, p.stdout.decode()

    def test_an_unmarked_code_block_fails_naming_its_line(self):
        rc, out = self.run_page("""\
            # page

            ~~~sh
            echo hi
            ~~~
            """)
        self.assertEqual(rc, 1)
        self.assertIn("page.md:3: a sh block needs a marker", out)

    def test_norun_needs_a_reason_and_text_blocks_need_no_marker(self):
        rc, out = self.run_page("""\
            ~~~
            $ tune ls   (output, not code)
            ~~~
            ~~~yaml norun
            a: 1
            ~~~
            """)
        self.assertEqual(rc, 1)
        self.assertIn("page.md:4: 'norun' needs a reason", out)
        self.assertNotIn("page.md:1", out)

    def test_an_unknown_marker_fails(self):
        rc, out = self.run_page("~~~cpp runn\nint main() {}\n~~~\n")
        self.assertEqual(rc, 1)
        self.assertIn("page.md:1: unknown marker 'runn' for cpp", out)

    def test_a_failing_shell_block_fails_with_its_line_and_output(self):
        rc, out = self.run_page("""\
            ~~~sh run
            echo before the failure
            false
            echo never printed
            ~~~
            """)
        self.assertEqual(rc, 1)
        self.assertIn("FAILED page.md:1: sh block exited with 1", out)
        self.assertIn("before the failure", out)
        self.assertNotIn("never printed", out)

    def test_blocks_of_a_page_share_one_scratch_directory_in_order_with_home_inside(self):
        rc, out = self.run_page("""\
            ~~~sh run
            echo 42 > ~/value
            ~~~

            * in a list:

              ~~~sh run
              test "$(cat "$HOME/value")" = 42
              test -d include && test -L build
              ~~~
            """)
        self.assertEqual(rc, 0, out)
        self.assertIn("2 ran", out)

    def test_a_compile_error_points_into_the_markdown(self):
        rc, out = self.run_page("""\
            Text.

            ~~~cpp run
            int main() {
              return undeclared_name;
            }
            ~~~
            """)
        self.assertEqual(rc, 1)
        self.assertIn("FAILED page.md:3: cpp block does not compile", out)
        self.assertIn("page.md:5:", out)  # the compiler's own message names the Markdown line

    def test_a_program_that_fails_fails_and_one_that_works_passes(self):
        rc, out = self.run_page("""\
            ~~~cpp run
            int main() { return 3; }
            ~~~
            ~~~cpp compile
            int main() { return 3; }
            ~~~
            """)
        self.assertEqual(rc, 1)
        self.assertIn("FAILED page.md:1: cpp block exited with 3", out)
        self.assertNotIn("page.md:4", out.split("FAILED", 1)[1])
        self.assertIn("2 compiled", out)

    def test_a_spec_runs_through_tune_and_a_bad_one_fails_with_tunes_message(self):
        rc, out = self.run_page("""\
            ~~~yaml check
            # good.yaml
            name: good
            trainable: {command: ["true"], protocol: plain}
            ~~~
            ~~~yaml check
            name: bad
            trainable: {command: [no_such_program_anywhere]}
            ~~~
            ~~~sh run
            test -f good.yaml
            ~~~
            """)
        self.assertEqual(rc, 1, out)
        self.assertIn("FAILED page.md:6: tune run block_7.yaml exited with 2", out)
        self.assertIn("no_such_program_anywhere", out)
        self.assertNotIn("FAILED page.md:1:", out)
        self.assertNotIn("FAILED page.md:10:", out)

    def test_python_blocks_are_skipped_saying_so_while_import_tune_fails(self):
        rc, out = self.run_page("~~~python run\nraise SystemExit(1)\n~~~\n", "--python", "/bin/false")
        self.assertEqual(rc, 0, out)
        self.assertIn("page.md:1: python SKIPPED: /bin/false cannot `import tune`", out)


if __name__ == "__main__":
    unittest.main(verbosity=2)
