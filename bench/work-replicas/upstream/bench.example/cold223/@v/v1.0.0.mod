module bench.example/cold223

go 1.21
