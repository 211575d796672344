import sys

from context_course.cli import main

sys.exit(main())
