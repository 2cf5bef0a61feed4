module bench.example/cold226

go 1.21
