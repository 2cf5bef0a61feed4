module bench.example/cold272

go 1.21
