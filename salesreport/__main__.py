from salesreport.cli import run

run()
