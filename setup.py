"""Builds the extension module tune._tune (and the `tune` command-line tool) with CMake.

Configuration comes from pyproject.toml; this file only adds the CMake-driven build_ext.
Environment: TUNE_PY_BUILD_DIR (default build-py, reused between builds), TUNE_PY_JOBS
(parallel compile jobs, default 2), TUNE_PY_CMAKE_ARGS (extra CMake arguments).
"""
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent


class CMakeExtension(Extension):
    def __init__(self, name):
        super().__init__(name, sources=[])


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        build_dir = Path(os.environ.get("TUNE_PY_BUILD_DIR", ROOT / "build-py")).resolve()
        env = dict(os.environ)
        env.setdefault("CCACHE_BASEDIR", str(ROOT))
        env.setdefault("CCACHE_NOHASHDIR", "1")
        env.setdefault("CCACHE_SLOPPINESS", "pch_defines,time_macros,include_file_mtime,include_file_ctime")
        args = ["cmake", "-S", str(ROOT), "-B", str(build_dir), "-DCMAKE_BUILD_TYPE=Release",
                "-DCMAKE_CXX_FLAGS_RELEASE=-O2 -DNDEBUG",
                "-DTUNE_BUILD_PYTHON=ON", "-DTUNE_BUILD_TESTS=OFF", "-DTUNE_BUILD_BENCH=OFF",
                "-DTUNE_BUILD_EXAMPLES=OFF", f"-DPython_EXECUTABLE={sys.executable}"]
        if shutil.which("ninja") and not (build_dir / "Makefile").exists():
            args += ["-G", "Ninja"]
        args += shlex.split(os.environ.get("TUNE_PY_CMAKE_ARGS", ""))
        subprocess.run(args, check=True, env=env)
        jobs = os.environ.get("TUNE_PY_JOBS", "2")
        subprocess.run(["cmake", "--build", str(build_dir), "--target", "_tune", "tune_cli", "-j", jobs],
                       check=True, env=env)
        built = sorted(build_dir.glob("python/_tune*.so"))
        if not built:
            raise RuntimeError(f"the build left no python/_tune*.so in {build_dir}")
        target = Path(self.get_ext_fullpath(ext.name))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(built[-1], target)
        package = target.parent
        (package / "bin").mkdir(exist_ok=True)
        shutil.copy2(build_dir / "tune", package / "bin" / "tune")
        shutil.copy2(ROOT / "clients" / "python" / "tune_client.py", Path(self.build_lib) / "tune_client.py")


setup(
    package_dir={"": "python"},
    packages=["tune", "tune.schedulers", "tune.suggest", "tune.search"],
    ext_modules=[CMakeExtension("tune._tune")],
    cmdclass={"build_ext": CMakeBuild},
    zip_safe=False,
)
