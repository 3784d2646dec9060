"""A faithful transcription of the published reference smoothness code, for tests only.

Transcribed from Sivakumar Balasubramanian's ``scripts/smoothness.py`` in
github.com/siva82kb/SPARC (functions ``sparc``, ``dimensionless_jerk`` and
``log_dimensionless_jerk``; Balasubramanian et al. 2015, J NeuroEng Rehabil 12:112),
kept operation for operation (builtin ``max``/``sum``/``pow``) so the tests compare
``hipimu.scoring`` against the reference's own arithmetic. Docstrings shortened.
"""

import numpy as np


def sparc(movement, fs, padlevel=4, fc=10.0, amp_th=0.05):
    """Reference SPARC: returns (sal, (f, Mf), (f_sel, Mf_sel))."""
    # Number of zeros to be padded.
    nfft = int(pow(2, np.ceil(np.log2(len(movement))) + padlevel))

    # Frequency
    f = np.arange(0, fs, fs / nfft)
    # Normalized magnitude spectrum
    Mf = abs(np.fft.fft(movement, nfft))
    Mf = Mf / max(Mf)

    # Indices to choose only the spectrum within the given cut off frequency Fc.
    fc_inx = ((f <= fc) * 1).nonzero()
    f_sel = f[fc_inx]
    Mf_sel = Mf[fc_inx]

    # Choose the amplitude threshold based cut off frequency.
    inx = ((Mf_sel >= amp_th) * 1).nonzero()[0]
    fc_inx = range(inx[0], inx[-1] + 1)
    f_sel = f_sel[fc_inx]
    Mf_sel = Mf_sel[fc_inx]

    # Calculate arc length
    new_sal = -sum(
        np.sqrt(pow(np.diff(f_sel) / (f_sel[-1] - f_sel[0]), 2) + pow(np.diff(Mf_sel), 2))
    )
    return new_sal, (f, Mf), (f_sel, Mf_sel)


def dimensionless_jerk(movement, fs):
    """Reference dimensionless jerk of a speed profile."""
    # first enforce data into an numpy array.
    movement = np.array(movement)

    # calculate the scale factor and jerk.
    movement_peak = max(abs(movement))
    dt = 1.0 / fs
    movement_dur = len(movement) * dt
    jerk = np.diff(movement, 2) / pow(dt, 2)
    scale = pow(movement_dur, 3) / pow(movement_peak, 2)

    # estimate dj
    return -scale * sum(pow(jerk, 2)) * dt


def log_dimensionless_jerk(movement, fs):
    """Reference log dimensionless jerk."""
    return -np.log(abs(dimensionless_jerk(movement, fs)))
