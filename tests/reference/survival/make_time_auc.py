"""Reference values of the cumulative/dynamic time-dependent AUC from scikit-survival.

scikit-survival is not an exomir dependency: run this in a scratch environment that has it
(pip install scikit-survival pandas), from the repository root:

    EXOMIR_SHARED_DATA=../shared/data python tests/reference/survival/make_time_auc.py

Data: TCGA-LIHC primary tumours (first aliquot per patient), overall survival and recurrence
(new tumour event, censored at the last follow-up), log2(RPM + 1) of a few precursors; the
same cohort serves as training and test data of sksurv's censoring estimate.
"""

import os
from pathlib import Path

import numpy as np
import pandas as pd
import sksurv
from sksurv.metrics import cumulative_dynamic_auc
from sksurv.util import Surv

data = Path(os.environ.get("EXOMIR_SHARED_DATA", "../shared/data")) / "tcga_lihc"
out = Path("tests/reference/survival/time_auc_sksurv.csv")
clin = pd.read_csv(data / "clinical_survival.csv").set_index("patient")
rpm = pd.read_csv(data / "mirna_precursor_rpm.csv.gz", index_col=0)
tumour, seen = [], set()
for barcode in sorted(rpm.columns):
    if barcode[13:15] == "01" and barcode[:12] not in seen:
        seen.add(barcode[:12])
        tumour.append(barcode)
clin = clin.reindex([b[:12] for b in tumour])
clin["recurrence_event"] = clin["new_tumor_event_days"].notna().astype(int)
clin["recurrence_days"] = clin["new_tumor_event_days"].where(clin["new_tumor_event_days"].notna(), clin["OS_days"])
rows = []
for endpoint, tcol, ecol in (("OS", "OS_days", "OS_event"), ("recurrence", "recurrence_days", "recurrence_event")):
    t = clin[tcol].to_numpy(float)
    e = clin[ecol].to_numpy(float)
    ok = np.isfinite(t) & np.isfinite(e)
    y = Surv.from_arrays(e[ok].astype(bool), t[ok])
    for mirna in ("hsa-mir-21", "hsa-mir-149", "hsa-mir-122", "hsa-mir-210"):
        x = np.log2(rpm.loc[mirna, tumour].to_numpy(float) + 1.0)[ok]
        times = np.array([365.0, 730.0, 1095.0])
        auc, _ = cumulative_dynamic_auc(y, y, x, times)
        rows += [{"endpoint": endpoint, "mirna": mirna, "time": tt, "auc": a} for tt, a in zip(times, auc)]
frame = pd.DataFrame(rows)
frame.to_csv(out, index=False, float_format="%.15g")
Path(out.with_name("time_auc_versions.txt")).write_text(f"scikit-survival {sksurv.__version__}\n")
print(frame)
