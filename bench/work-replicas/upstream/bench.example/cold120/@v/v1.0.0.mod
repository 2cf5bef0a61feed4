module bench.example/cold120

go 1.21
