# %% [markdown]
# # exomir in a notebook
#
# A small simulated serum cohort (HCC, cirrhosis, chronic hepatitis B, healthy; small RNA-seq
# counts) taken from files to a ROC against AFP and a Kaplan-Meier plot, cell by cell. Open this
# file in Jupyter (jupytext), VS Code or Spyder: each `# %%` line starts a cell. The tests run it
# as a script in a scratch folder; the figures it saves go into `figures/`.

# %%
from pathlib import Path

import exomir as ex
from exomir.simulate import simulate_cohort, write_cohort

# the files `exomir simulate --out data/ --n 160 --n-mirnas 60 --seed 7` writes
paths = write_cohort(simulate_cohort(160, n_mirnas=60, seed=7), "data/")
print({name: str(path) for name, path in paths.items()})

# %% [markdown]
# ## Read
# The expression table and the clinical table, joined on the sample ID. The Cohort remembers
# what was read and decided in `adata.uns["exomir"]`.

# %%
adata = ex.read(paths["expression"], clinical=paths["clinical"], group="group")
print(adata)
print(adata.obs["group"].value_counts())

# %% [markdown]
# ## Quality control and normalization
# Hemolysis (miR-451a against miR-23a-3p), spike-in recovery and outlying profiles: one row
# per sample, the flags also in `adata.obs`. Read counts are then normalized by DESeq2's median
# of ratios onto a log2 scale.

# %%
qc = ex.pp.qc(adata)
print(qc["hemolysis"].value_counts())
adata = ex.pp.normalize(adata)
print([step["step"] for step in adata.uns["exomir"]["steps"]])

# %% [markdown]
# ## Differential expression
# HCC against cirrhosis, the comparison that matters for surveillance (DESeq2 on the counts).

# %%
de = ex.tl.differential(adata, group="group", case="HCC", control="LC")
print(de.head(10)[["mirna", "log2fc", "pvalue", "padj"]])
volcano = ex.pl.volcano(de)

# %% [markdown]
# ## ROC against AFP
# Every miRNA and AFP against each control group, with DeLong intervals; the figure draws the
# best miRNAs beside AFP, as the report does.

# %%
roc = ex.tl.roc(adata, group="group", case="HCC", control=["LC", "CHB"], afp="afp_ng_ml")
print(roc.head(5)[["mirna", "comparison", "auc", "auc_ci_low", "auc_ci_high", "direction"]])
print(roc[roc["mirna"] == "AFP"][["comparison", "auc", "auc_ci_low", "auc_ci_high"]])
roc_figure = ex.pl.roc(roc, adata, "HCC_vs_LC")

# %% [markdown]
# ## Kaplan-Meier
# Disease-free survival of the HCC patients, split at the median miR-215-5p level.

# %%
hcc = adata[adata.obs["group"] == "HCC"].copy()
km = ex.pl.km(hcc, "hsa-miR-215-5p", time="dfs_months", event="dfs_event")
print(km.layout.title.text)

# %% [markdown]
# ## Saving a figure
# Every `ex.pl` function returns a plotly `Figure`: restyle it, then save it as a page that
# opens offline (plotly embedded). `fig.write_image("roc.svg")` also works where kaleido is
# installed; `exomir analyze --figures` writes every report figure as SVG.

# %%
Path("figures").mkdir(exist_ok=True)
roc_figure.update_layout(title="HCC vs cirrhosis: miRNAs and AFP", width=700)
roc_figure.write_html("figures/roc_hcc_vs_lc.html")
km.write_html("figures/km_mir215.html")
print(sorted(p.name for p in Path("figures").iterdir()))
