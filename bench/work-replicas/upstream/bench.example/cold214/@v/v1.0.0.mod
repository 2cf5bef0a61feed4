module bench.example/cold214

go 1.21
