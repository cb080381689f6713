"""The bundle's entry point: the `ganstudio` command, frozen by PyInstaller (see ganstudio.spec).

The Train tab starts its runs as ``<python> -m ganstudio train ...``; inside the bundle ``<python>``
(sys.executable) is this program, so a leading ``-m ganstudio`` is dropped.
"""
import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()  # data-loader workers re-enter here on Windows and macOS
    if sys.argv[1:3] == ["-m", "ganstudio"]:
        del sys.argv[1:3]
    from ganstudio.cli import main
    sys.exit(main())
