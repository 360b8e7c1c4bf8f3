"Helpers shared by the CLI tests: run `ming` in this process and check a clean one-paragraph error."
import contextlib, io
from ming.cli import main


def run_cli(*args):
    "`ming ARGS` in this process: (exit code, stdout, stderr)."
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err): rc = main([str(a) for a in args])
    return rc, out.getvalue(), err.getvalue()


def clean_error(*args, words=()):
    "Run `ming ARGS`; assert exit code 2 and one `ming CMD: error: ...` paragraph (no traceback) holding `words`."
    rc, out, err = run_cli(*args)
    assert rc == 2, (rc, out[-2000:], err[-2000:])
    assert 'Traceback' not in err + out, err
    msg = err.strip()
    assert msg.startswith(f'ming {args[0]}: error: ') and '\n' not in msg, msg       # one paragraph
    for w in words: assert w in msg, (w, msg)
    return msg
