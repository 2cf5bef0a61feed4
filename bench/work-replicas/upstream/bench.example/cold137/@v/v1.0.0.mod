module bench.example/cold137

go 1.21
