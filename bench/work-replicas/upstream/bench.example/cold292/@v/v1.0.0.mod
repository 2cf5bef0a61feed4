module bench.example/cold292

go 1.21
