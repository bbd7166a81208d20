"""The report's pages: one module per audience page, each section a function of the context.

``salesreport.pages.<page>.<section>(ctx)`` returns a :class:`~salesreport.pages.section.Section`
(the finding as its title, the table behind it as ``.frame``, and what it shows); a
notebook cell whose last expression is a section shows it, in papermill, in the published
page and in JupyterLab alike. The modules:

* :mod:`~salesreport.pages.executive`, :mod:`~salesreport.pages.manager`,
  :mod:`~salesreport.pages.operations`, :mod:`~salesreport.pages.rep`,
  :mod:`~salesreport.pages.sdr`, :mod:`~salesreport.pages.forecast`: the sections of each page;
* :mod:`~salesreport.pages.common`: the title block and notes every page shows;
* :mod:`~salesreport.pages.section`: the :class:`~salesreport.pages.section.Section` type, its
  parts (charts, tables, notes) and the cache of sections several pages show.

Words and number formats come from :mod:`salesreport.words`; charts from
:mod:`salesreport.charts`; numbers from the context. The run's main process never imports
this package (the kernels do).
"""
