"""Inside the sandboxed child: runner, observe, value codec, widget helper.

Nothing here imports grader code outside ``grader.child`` (a test walks the import closure).
"""
