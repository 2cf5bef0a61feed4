module bench.example/cold222

go 1.21
