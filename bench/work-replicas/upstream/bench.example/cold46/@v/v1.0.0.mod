module bench.example/cold46

go 1.21
