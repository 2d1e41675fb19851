"""What every program that writes figures into the docs shares: the regions between marker lines
that it rewrites, and the machine it measured on. Used by bench/report.py, bench/defaults_study.py,
bench/lr_sweep.py, mpi/bench/cost_model.py and examples/denoising/report.py; those outside bench/
put this directory on sys.path first.
"""
import os


def rewrite(text, begin, end, render, source):
    """text with the body of every region replaced by ["", *render(match), ""]: a region runs from
    a line that the compiled regex begin matches whole to the next line end.format(name), name
    being begin's last group. ValueError for a begin line without its end, or for a text
    without any region (a page that lost its markers must not pass a check)."""
    out, lines, i, found = [], text.split("\n"), 0, False
    while i < len(lines):
        out.append(lines[i])
        m = begin.fullmatch(lines[i])
        i += 1
        if not m:
            continue
        last = end.format(m.groups()[-1])
        if last not in lines[i:]:
            raise ValueError(f"{source}: '{lines[i - 1]}' has no '{last}' after it")
        i, found = lines.index(last, i), True
        out += [""] + list(render(m)) + [""]
    if not found:
        raise ValueError(f"{source}: no region, i.e. no line matching '{begin.pattern}'")
    return "\n".join(out)


def cpu_name(count=False):
    """The CPU's model name from /proc/cpuinfo; count: followed by ', N CPUs'."""
    name = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            name = next((line.split(":", 1)[1].strip() for line in f
                         if line.startswith("model name")), name)
    except OSError:
        pass
    return f"{name}, {os.cpu_count()} CPUs" if count else name
